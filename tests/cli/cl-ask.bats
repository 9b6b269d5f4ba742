#!/usr/bin/env bats
# cl-ask: usage, errors, and the uncompressed answer path end to end on tinystories-656k.

load tiny_helper

setup() {
  tiny_setup cl-ask
}

@test "cl-ask --help prints usage and exits 0" {
  run cl-ask --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "cl-ask: unknown option, missing question, bad numbers exit 2" {
  run cl-ask --bogus "q"
  [ "$status" -eq 2 ]
  run cl-ask
  [ "$status" -eq 2 ]
  run cl-ask --max-tokens 0 "q"
  [ "$status" -eq 2 ]
  run cl-ask --temperature abc "q"
  [ "$status" -eq 2 ]
  run cl-ask --top-p 1.5 "q"
  [ "$status" -eq 2 ]
}

@test "cl-ask: missing model or text file exits 1 with one message" {
  run cl-ask --model "$TMP/nope" "q"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-ask:* ]]
  need_model
  run cl-ask --model "$MODEL" --text "$TMP/none.txt" "q"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-ask:*none.txt* ]]
}

@test "cl-ask: empty prompt from BOS reproduces the greedy reference text (100 tokens)" {
  need_model
  tail -n +2 "$MODEL/greedy-reference.txt" > "$TMP/want"
  cl-ask --model "$MODEL" --max-tokens 100 "" > "$TMP/got"
  cmp "$TMP/want" "$TMP/got"
}

@test "cl-ask: answers over --text FILE and --text - alike, greedy is reproducible" {
  need_model
  echo "Lily went to the park. She saw a big red ball. She played with the ball all day." > "$TMP/ctx"
  run cl-ask --model "$MODEL" --max-tokens 8 --text "$TMP/ctx" "Lily played with the "
  [ "$status" -eq 0 ]
  [[ "$output" == ball* ]]
  a="$output"
  run bash -c "cl-ask --model '$MODEL' --max-tokens 8 --text - 'Lily played with the ' < '$TMP/ctx'"
  [ "$status" -eq 0 ]
  [ "$output" = "$a" ]
}

@test "cl-ask: seeded sampling is reproducible and differs from greedy" {
  need_model
  a=$(cl-ask --model "$MODEL" --max-tokens 30 --temperature 1 --top-p 0.9 --seed 5 "Tom")
  b=$(cl-ask --model "$MODEL" --max-tokens 30 --temperature 1 --top-p 0.9 --seed 5 "Tom")
  g=$(cl-ask --model "$MODEL" --max-tokens 30 "Tom")
  [ "$a" = "$b" ]
  [ "$a" != "$g" ]
}

@test "cl-ask --stats: one JSON line with the prompt and timing fields" {
  need_model
  echo "Lily went to the park." > "$TMP/ctx"
  cl-ask --model "$MODEL" --max-tokens 5 --stats --text "$TMP/ctx" "She" 2> "$TMP/err" > /dev/null
  [ "$(wc -l < "$TMP/err")" -eq 1 ]
  jq -e '.context_tokens > 0 and .prompt_tokens > .context_tokens and .gen_tokens == 5
         and .prefill_s >= 0 and .ttft_s >= .prefill_s and .decode_tokens_per_s > 0
         and .kv_bytes > 0' "$TMP/err"
}

@test "cl-ask: the llama2.c checkpoint answers too" {
  [ -f "$CL_SHARED/models/stories260k/stories260K.bin" ] || skip "stories260k absent"
  run cl-ask --model "$CL_SHARED/models/stories260k/stories260K.bin" --max-tokens 20 "Once upon a time"
  [ "$status" -eq 0 ]
  [ -n "$output" ]
}

@test "cl-ask: a ChatML model gets the template's prompt (43 tokens of SmolLM2's example)" {
  tok="$CL_SHARED/tokenizers/smollm2-135m-instruct"
  [ -f "$tok/tokenizer.json" ] || skip "SmolLM2 tokenizer absent"
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "/usr/bin/python3 with numpy absent"
  /usr/bin/python3 "$BATS_TEST_DIRNAME/random_hf_model.py" "$TMP/chatml" "$tok"
  q="What is the capital of France? Answer in 3 words."
  cl-ask --model "$TMP/chatml" --max-tokens 2 --stats "$q" 2> "$TMP/err" > /dev/null
  jq -e '.prompt_tokens == 43 and .gen_tokens <= 2' "$TMP/err"
  cl-ask --model "$TMP/chatml" --max-tokens 2 --stats --no-template "$q" 2> "$TMP/err" > /dev/null
  jq -e '.prompt_tokens == 13' "$TMP/err"
}

@test "cl-ask --kv-type: f16 (default), bf16, f32 answer; other types are usage errors" {
  run cl-ask --kv-type q8_0 "q"
  [ "$status" -eq 2 ]
  [[ "$output" == *kv-type* ]]
  need_model
  printf 'Once upon a time there was a little cat named Tom.\n' > "$TMP/story.txt"
  for t in f16 bf16 f32; do
    run cl-ask --model "$MODEL" --kv-type $t --max-tokens 12 --text "$TMP/story.txt" "Who was Tom?"
    [ "$status" -eq 0 ]
    [ -n "$output" ]
  done
}
