#!/usr/bin/env bats
# Values beyond a dtype's range are refused, not written as inf/nan (lib/quant.h, cl_quantize).
# cl-model convert refuses weights its target dtype cannot hold: a
# block whose f16 scale would overflow (it would read back as inf/nan), a non-finite element in a
# block format, a finite value beyond f16.  One line naming the tensor, the row, the elements and
# the value; exit 1; no output file.  The largest block that fits converts and reads back (through
# tests/ref's independent GGUF reader) within a step.  Model: tiny random Llama (dim 256, so that
# k-quants apply), tests/ref/random_hf.py; values set by tests/cli/quant_range.py.
# cl-compress --dtype f16 refuses CE values beyond f16; cl-ask with an f16 KV cache stops (one
# line: the logits are nan, the cache's range named) where the model's values go beyond it
# (before, it answered from nan logits: "<unk><unk>..", exit 0).

setup() {
  TMP="${CL_TMP:-tests/tmp}/cl-model-range.$$"
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "/usr/bin/python3 with numpy absent"
  mkdir -p "$TMP/m"
  cat > "$TMP/m/config.json" <<'J'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256, "intermediate_size": 256,
 "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 64,
 "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2}
J
  /usr/bin/python3 tests/ref/random_hf.py "$TMP/m" 3
  UP=model.layers.0.mlp.up_proj.weight
}

teardown() { rm -rf "$TMP"; }

# tok_model DIR SEED: a random 1-layer Llama (dim 64) with tinystories-656k's tokenizer in DIR
tok_model() {
  local tok="$CL_SHARED/models/tinystories-656k/tokenizer.json"
  [ -f "$tok" ] || skip "../shared/models/tinystories-656k absent"
  mkdir -p "$1"
  cat > "$1/config.json" <<'J'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 64,
 "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 2048,
 "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2}
J
  cp "$tok" "$1/tokenizer.json"
  /usr/bin/python3 tests/ref/random_hf.py "$1" "$2"
}

poke() { /usr/bin/python3 tests/cli/quant_range.py poke "$TMP/m" "$UP" "$@"; }

# convert DTYPE: run cl-model convert to $TMP/out.gguf; then no output and no temp file may be left
# where it failed
convert() {
  rm -f "$TMP/out.gguf"
  run cl-model convert "$TMP/m" --dtype "$1" --out "$TMP/out.gguf"
  if [ "$status" -ne 0 ]; then
    [ -z "$(ls "$TMP" | grep -v '^m$')" ]
  fi
}

@test "cl-model convert: a q8_0 block beyond the f16 scale is refused, naming tensor, row, elements, value" {
  poke 3 40 9e6
  convert q8_0
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$output" = "cl-model: $TMP/out.gguf: tensor blk.0.ffn_up.weight: row 3: elements 32..63: |x| max 9e+06 makes the q8_0 scale d 70866.1, beyond f16 (max 65504)" ]
  convert q4_0
  [ "$status" -eq 1 ]
  [[ "$output" == *"tensor blk.0.ffn_up.weight: row 3: elements 32..63: largest-magnitude x 9e+06 makes the q4_0 scale d -1.125e+06, beyond f16"* ]]
  convert q6_K   # 9e6 fits q6_K (up to about 2.58e8)
  [ "$status" -eq 0 ]
}

@test "cl-model convert: the largest q8_0 block that fits converts and reads back within a step" {
  poke 3 40 -8321039.5
  convert q8_0
  [ "$status" -eq 0 ]
  run /usr/bin/python3 tests/cli/quant_range.py check "$TMP/m" "$UP" "$TMP/out.gguf" blk.0.ffn_up.weight 127
  [ "$status" -eq 0 ]
  awk -v e="$output" 'BEGIN { exit !(e > 0 && e <= 0.6) }'   # half a step plus the f16 rounding of d
  poke 3 40 -8321040
  convert q8_0
  [ "$status" -eq 1 ]
  [[ "$output" == *"row 3: elements 32..63: |x| max 8.32104e+06 makes the q8_0 scale d 65520, beyond f16"* ]]
}

@test "cl-model convert: a k-quant super-block whose dmin overflows is refused, q4_K_M too" {
  poke 5 200 -5e6
  for d in q4_K q5_K q4_K_M; do
    convert "$d"
    [ "$status" -eq 1 ]
    [[ "$output" == *"tensor blk.0.ffn_up.weight: row 5: elements 0..255: minimum -5e+06 makes the q"[45]"_K scale dmin 79365.1, beyond f16 (max 65504)" ]]
  done
}

@test "cl-model convert: f16 refuses a finite value beyond its range; bf16 holds it" {
  poke 2 7 70000
  convert f16
  [ "$status" -eq 1 ]
  [ "$output" = "cl-model: $TMP/out.gguf: tensor blk.0.ffn_up.weight: row 2: element 7 is 70000, beyond f16 (max 65504)" ]
  convert bf16
  [ "$status" -eq 0 ]
}

@test "cl-model convert: non-finite weights are refused by block formats, kept by f16" {
  poke 4 9 nan
  convert q8_0
  [ "$status" -eq 1 ]
  [ "$output" = "cl-model: $TMP/out.gguf: tensor blk.0.ffn_up.weight: row 4: element 9 is nan: q8_0 holds finite values only" ]
  poke 4 9 -inf
  convert q4_K
  [ "$status" -eq 1 ]
  [[ "$output" == *"row 4: element 9 is -inf: q4_K holds finite values only" ]]
  convert f16
  [ "$status" -eq 0 ]
}

@test "cl-compress --dtype f16 refuses a CE value beyond f16, naming segment, source, vector, element; bf16 holds it" {
  tok_model "$TMP/c" 4
  /usr/bin/python3 tests/cli/quant_range.py poke "$TMP/c" model.embed_tokens.weight all 5 1e6   # naive: means of these rows
  run cl-compress --model "$TMP/c" --naive --dtype f16 -o "$TMP/x.ce" tests/data/demo-story.jsonl
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$output" = "cl-compress: CE: segment 0 of \"-\" (offset 0, 54 bytes): vector 0: element 5 is 1e+06, beyond f16 (max 65504)" ]
  [ ! -e "$TMP/x.ce" ]
  [ -z "$(ls "$TMP" | grep x.ce)" ]
  run cl-compress --model "$TMP/c" --naive --dtype bf16 -o "$TMP/x.ce" tests/data/demo-story.jsonl
  [ "$status" -eq 0 ]
}

@test "cl-ask --kv-type f16 stops with one line naming the logits and the cache where values go beyond f16; bf16 and f32 answer" {
  tok_model "$TMP/a" 5
  # column 5 of every value row x 1e6: values ~1e6, beyond f16's 65504, well inside bf16's range
  /usr/bin/python3 tests/cli/quant_range.py poke "$TMP/a" model.layers.0.self_attn.v_proj.weight all 5 1e6
  for t in f32 bf16; do
    run cl-ask --model "$TMP/a" --kv-type "$t" --max-tokens 4 "Once upon a time"
    [ "$status" -eq 0 ]
  done
  run cl-ask --model "$TMP/a" --kv-type f16 --max-tokens 4 "Once upon a time"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" =~ ^"cl-ask: forward: logits of batch row "[0-9]+", element "[0-9]+" is "-?nan": an activation overflowed (the f16 KV cache holds |x| <= 65504)"$ ]]
}
