#!/usr/bin/env bats
# The families beyond plain Llama through the tools: tiny random-weight Gemma 3 and Llama 3.x
# models (HF layout, tinystories' tokenizer, vocabulary 2048) made by tests/ref/random_hf.py.
# cl-compress compresses with them, cl-ask answers, cl-model shows what it read, cl-train trains
# both (its backward's gradients for Gemma 3 / sliding windows are checked in test_backward.c).

setup() {
  TOK="$CL_SHARED/models/tinystories-656k/tokenizer.json"
  TMP="${CL_TMP:-tests/tmp}/arch.$$"
  [ -f "$TOK" ] || skip "../shared/models/tinystories-656k absent"
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "/usr/bin/python3 with numpy absent"
  mkdir -p "$TMP/gemma" "$TMP/llama3"
  unset CL_CACHE CL_COMPRESSOR CL_MODEL
  cat > "$TMP/gemma/config.json" <<'J'
{"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 64,
 "intermediate_size": 128, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 1,
 "head_dim": 16, "vocab_size": 2048, "sliding_window": 16, "query_pre_attn_scalar": 16,
 "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "bos_token_id": 1, "eos_token_id": [2, 3]}
J
  cat > "$TMP/llama3/config.json" <<'J'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 96,
 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 2048,
 "rope_theta": 500000.0, "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": [2, 3],
 "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
J
  for m in gemma llama3; do
    cp "$TOK" "$TMP/$m/tokenizer.json"
    /usr/bin/python3 tests/ref/random_hf.py "$TMP/$m" 5
  done
}

teardown() { rm -rf "$TMP"; }

@test "cl-compress runs on tiny Gemma 3 and Llama 3 shapes: one record per segment, ceil(n/2) vectors of dim 64" {
  for m in gemma llama3; do
    cl-compress --model "$TMP/$m" --init-compressor "$TMP/$m.k.gguf"
    cl-compress --model "$TMP/$m" --compressor "$TMP/$m.k.gguf" < tests/data/demo-story.jsonl > "$TMP/$m.ce"
    run /usr/bin/python3 tests/cli/ce_dump.py "$TMP/$m.ce"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq "$(wc -l < tests/data/demo-story.jsonl)" ]
    bad=$(printf '%s\n' "${lines[@]}" | awk '$6 != int(($5 + 1) / 2) || $7 != 64' | wc -l)
    [ "$bad" -eq 0 ]
  done
}

@test "cl-ask answers from a compressed context with tiny Gemma 3 and Llama 3 shapes" {
  for m in gemma llama3; do
    cl-compress --model "$TMP/$m" --naive < tests/data/demo-story.jsonl > "$TMP/$m.ce"
    run cl-ask --model "$TMP/$m" --max-tokens 4 "$TMP/$m.ce" "Who is in the story?"
    [ "$status" -eq 0 ]
  done
}

@test "cl-model info shows the rope scaling, window layers and stop ids it read" {
  run cl-model info "$TMP/gemma"
  [ "$status" -eq 0 ]
  [[ "$output" == *"arch: gemma3"* ]]
  [[ "$output" == *"rope_scaling: linear factor=8"* ]]
  [[ "$output" == *"window_layers: LLLLLG"* ]]
  [[ "$output" == *"stop_ids: 2 3"* ]]
  run cl-model info "$TMP/llama3"
  [[ "$output" == *"rope_scaling: llama3 factor=32"* ]]
}

@test "cl-train trains tiny Gemma 3 (local+global layers, window 16 < segments) and Llama 3 shapes" {
  cl-train --model "$TMP/gemma" --gen-data 6 --seed 3 -o "$TMP/d.jsonl"
  [ "$(wc -l < "$TMP/d.jsonl")" -eq 6 ]
  head -4 "$TMP/d.jsonl" > "$TMP/train.jsonl"
  tail -2 "$TMP/d.jsonl" > "$TMP/dev.jsonl"
  run cl-train --model "$TMP/gemma" --steps 3 --batch 2 --eval-every 3 --rank 2 \
      --dev "$TMP/dev.jsonl" -o "$TMP/g.gguf" "$TMP/train.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"dev loss"* ]]
  [[ "$output" != *"nan"* ]]
  [ -s "$TMP/g.gguf" ]
  run cl-train --model "$TMP/gemma" --evaluate --init "$TMP/g.gguf" --dev "$TMP/dev.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"nll_ce "* ]]
  run cl-train --model "$TMP/llama3" --bench 1 --bench-segments 1 --max-segment 4
  [ "$status" -eq 0 ]
  [[ "$output" == *"training step"* ]]
}

@test "cl-model convert of the Gemma 3 model keeps its fingerprint (norm gains read with the +1 folded in)" {
  cl-model convert "$TMP/gemma" --out "$TMP/gemma.gguf"
  a=$(cl-model info "$TMP/gemma" | sed -n 's/^fingerprint: //p')
  b=$(cl-model info "$TMP/gemma.gguf" | sed -n 's/^fingerprint: //p')
  [ "${#a}" -eq 64 ]
  [ "$a" = "$b" ]
  cl-compress --model "$TMP/gemma" --init-compressor "$TMP/k.gguf"
  cl-compress --model "$TMP/gemma" --compressor "$TMP/k.gguf" -o "$TMP/hf.ce" tests/data/demo-story.jsonl
  cl-compress --model "$TMP/gemma.gguf" --compressor "$TMP/k.gguf" -o "$TMP/gg.ce" tests/data/demo-story.jsonl
  cmp "$TMP/hf.ce" "$TMP/gg.ce"
}
