#!/usr/bin/env bats
# cl-model: usage, info on the shared models, random model generation, conversion, bad files.

load tiny_helper

setup() {
  tiny_setup cl-model
}

teardown() {
  rm -rf "$TMP"
}

@test "cl-model --help prints usage and exits 0" {
  run cl-model --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "cl-model: unknown option, unknown command, missing arguments exit 2" {
  run cl-model --bogus info
  [ "$status" -eq 2 ]
  run cl-model frobnicate
  [ "$status" -eq 2 ]
  run cl-model
  [ "$status" -eq 2 ]
  run cl-model random --out "$TMP/x.gguf"
  [ "$status" -eq 2 ]
  run cl-model random --config tests/data/qwen3-0.6b-config.json --out "$TMP/x.gguf" --dtype f8
  [ "$status" -eq 2 ]
}

@test "cl-model info on tinystories-656k shows format, config and fingerprint" {
  need_model
  run cl-model info "$MODEL"
  [ "$status" -eq 0 ]
  [[ "$output" == *"format: hf"* ]]
  [[ "$output" == *"n_vocab: 2048"* ]]
  [[ "$output" == *"tied_embeddings: 1"* ]]
  [[ "$output" == *"token_embd.weight"*"[2048, 128]"* ]]
  [[ "$output" == *"parameters: 656000"* ]]
  [[ "$output" =~ fingerprint:\ [0-9a-f]{64} ]]
}

@test "cl-model info uses \$CL_MODEL when no path is given" {
  need_model
  CL_MODEL="$MODEL" run cl-model info
  [ "$status" -eq 0 ]
  [[ "$output" == *"path: $MODEL"* ]]
}

@test "cl-model info on the llama2.c checkpoint" {
  [ -f "$CL_SHARED/models/stories260k/stories260K.bin" ] || skip "stories260k absent"
  run cl-model info "$CL_SHARED/models/stories260k/stories260K.bin"
  [ "$status" -eq 0 ]
  [[ "$output" == *"format: llama2c"* ]]
  [[ "$output" == *"tok512.bin"* ]]
}

@test "cl-model random: deterministic from the seed, real shapes, each dtype" {
  cfg=tests/data/qwen3-0.6b-config.json
  # a narrow vocabulary keeps the file small; every other shape is Qwen3-0.6B's
  run cl-model random --config "$cfg" --vocab 256 --seed 7 --dtype q8_0 --out "$TMP/a.gguf"
  [ "$status" -eq 0 ]
  run cl-model random --config "$cfg" --vocab 256 --seed 7 --dtype q8_0 --out "$TMP/b.gguf"
  cmp "$TMP/a.gguf" "$TMP/b.gguf"
  run cl-model random --config "$cfg" --vocab 256 --seed 8 --dtype q8_0 --out "$TMP/c.gguf"
  run cmp -s "$TMP/a.gguf" "$TMP/c.gguf"
  [ "$status" -ne 0 ]
  run cl-model info "$TMP/a.gguf"
  [ "$status" -eq 0 ]
  [[ "$output" == *"arch: qwen3"* ]]
  [[ "$output" == *"n_layers: 28"* ]]
  [[ "$output" == *"qk_norm: 1"* ]]
  [[ "$output" == *"blk.27.attn_q.weight"*"q8_0"*"[2048, 1024]"* ]]
  [[ "$output" == *"blk.0.attn_k_norm.weight"*"f32"*"[128]"* ]]
  for t in f32 f16 bf16; do
    run cl-model random --config "$MODEL/config.json" --dtype $t --out "$TMP/$t.gguf"
    [ "$status" -eq 0 ] || skip "tinystories config absent"
    run cl-model info "$TMP/$t.gguf"
    [[ "$output" == *"blk.0.ffn_up.weight"*"$t"*"[384, 128]"* ]]
  done
}

@test "cl-model convert: the HF model becomes a self-contained GGUF that answers identically" {
  need_model
  run cl-model convert "$MODEL" --out "$TMP/ts.gguf"
  [ "$status" -eq 0 ]
  run cl-model info "$TMP/ts.gguf"
  [ "$status" -eq 0 ]
  [[ "$output" == *"format: gguf"* ]]
  [[ "$output" == *"rope_interleaved: 1"* ]]
  [[ "$output" == *"tokenizer: gguf metadata"* ]]
  [[ "$output" == *"parameters: 656000"* ]]
  # greedy continuations through the engine: Q/K permutation + interleaved RoPE == HF layout
  a=$(cl-ask --model "$MODEL" --max-tokens 60 "Once upon a time there was a dog")
  b=$(cl-ask --model "$TMP/ts.gguf" --max-tokens 60 "Once upon a time there was a dog")
  [ -n "$a" ]
  [ "$a" = "$b" ]
  run cl-model convert "$MODEL" --dtype q8_0 --out "$TMP/ts-q8.gguf"
  [ "$status" -eq 0 ]
  run cl-model info "$TMP/ts-q8.gguf"
  [[ "$output" == *"blk.0.attn_q.weight"*"q8_0"* ]]
  run cl-ask --model "$TMP/ts-q8.gguf" --max-tokens 10 "Once upon a time"
  [ "$status" -eq 0 ]
}

@test "cl-model convert: the llama2.c checkpoint becomes a GGUF that answers identically" {
  bin="$CL_SHARED/models/stories260k/stories260K.bin"
  [ -f "$bin" ] || skip "stories260k absent"
  run cl-model convert "$bin" --out "$TMP/s.gguf"
  [ "$status" -eq 0 ]
  a=$(cl-ask --model "$bin" --max-tokens 60 "Once upon a time")
  b=$(cl-ask --model "$TMP/s.gguf" --max-tokens 60 "Once upon a time")
  [ -n "$a" ]
  [ "$a" = "$b" ]
}

@test "cl-model convert: the GGUF carries the tokenizer (tokenizer.ggml.* keys)" {
  need_model
  run cl-model convert "$MODEL" --out "$TMP/tk.gguf"
  [ "$status" -eq 0 ]
  grep -q "tokenizer.ggml.tokens" "$TMP/tk.gguf"
  grep -q "tokenizer.ggml.merges" "$TMP/tk.gguf"
}

@test "cl-model: our GGUF files read the same in Hugging Face's own GGUF parser" {
  [ -d tests/ref/node_modules/@huggingface/gguf ] || skip "npm module @huggingface/gguf absent (cd tests/ref && npm install)"
  command -v node >/dev/null || skip "node absent"
  need_model
  run cl-model convert "$MODEL" --dtype q8_0 --out "$TMP/c.gguf"
  [ "$status" -eq 0 ]
  cl-model random --config tests/data/qwen3-0.6b-config.json --vocab 64 --dtype bf16 --out "$TMP/q.gguf"
  for f in "$TMP/c.gguf" "$TMP/q.gguf"; do
    node tests/ref/gguf_dump.mjs "$f" > "$TMP/ref.txt"
    cl-model info "$f" > "$TMP/info.txt"
    # every line of the reference (config values and each tensor's dtype and shape) is in ours,
    # and both list the same number of tensors
    n=0
    while IFS= read -r line; do
      case "$line" in tokens:*) continue ;; esac
      grep -qxF -- "$line" <(sed -e 's/^  *//' -e 's/  */ /g' "$TMP/info.txt") || { echo "missing: $line"; false; }
      n=$((n + 1))
    done < "$TMP/ref.txt"
    [ "$n" -gt 20 ]
    [ "$(grep -c '\[' "$TMP/ref.txt")" -eq "$(sed -n 's/^tensors: //p' "$TMP/info.txt")" ]
  done
  # the tokenizer went along: as many tokens as the vocabulary
  node tests/ref/gguf_dump.mjs "$TMP/c.gguf" | grep -qx "tokens: 2048"
}

@test "cl-model: a truncated GGUF fails with one line naming the file, no crash" {
  need_model
  cl-model random --config "$MODEL/config.json" --out "$TMP/r.gguf"
  head -c 5000 "$TMP/r.gguf" > "$TMP/trunc.gguf"
  run cl-model info "$TMP/trunc.gguf"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "cl-model: $TMP/trunc.gguf"*"past the end"* ]]
  head -c 100 "$MODEL/model.safetensors" > "$TMP/x.bin"
  run cl-model info "$TMP/x.bin"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  run cl-model info "$TMP/missing"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-model:*missing* ]]
}

@test "cl-model random: output is atomic (a failed write leaves no file)" {
  run cl-model random --config tests/data/qwen3-0.6b-config.json --vocab 256 --out "$TMP/no/such/dir/x.gguf"
  [ "$status" -eq 1 ]
  [ ! -e "$TMP/no/such/dir/x.gguf" ]
}

@test "cl-model convert to GGUF f32 keeps the fingerprint: the shipped compressor and CE files work with it" {
  need_model
  cl-model convert "$MODEL" --out "$TMP/ts.gguf"
  fp_hf=$(cl-model info "$MODEL" | sed -n 's/^fingerprint: //p')
  fp_gg=$(cl-model info "$TMP/ts.gguf" | sed -n 's/^fingerprint: //p')
  [ "${#fp_hf}" -eq 64 ]
  [ "$fp_hf" = "$fp_gg" ]
  # same compressor, same CEs, bit for bit (the loader presents GGUF llama's Q/K rows in HF's order)
  C=models/tinystories-656k-c2.gguf
  cl-compress --model "$MODEL" --compressor "$C" -o "$TMP/hf.ce" tests/data/demo-story.jsonl
  cl-compress --model "$TMP/ts.gguf" --compressor "$C" -o "$TMP/gg.ce" tests/data/demo-story.jsonl
  cmp "$TMP/hf.ce" "$TMP/gg.ce"
  # a CE file made with the HF directory answers the same with the GGUF
  a=$(cl-ask --model "$MODEL" --max-tokens 20 "$TMP/hf.ce" "One day, Lily")
  b=$(cl-ask --model "$TMP/ts.gguf" --max-tokens 20 "$TMP/hf.ce" "One day, Lily")
  [ -n "$a" ]
  [ "$a" = "$b" ]
  # another dtype is another model: refused, naming the compressor
  cl-model convert "$MODEL" --out "$TMP/ts16.gguf" --dtype f16
  [ "$(cl-model info "$TMP/ts16.gguf" | sed -n 's/^fingerprint: //p')" != "$fp_hf" ]
  run cl-compress --model "$TMP/ts16.gguf" --compressor "$C" tests/data/demo-story.jsonl
  [ "$status" -ne 0 ]
  [[ "$output" == *"$C"*"another base model"* ]]
}
