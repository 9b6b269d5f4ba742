#!/usr/bin/env bats
# cl-ask --server against tests/remote/fake_vllm.py on loopback: a stand-in for vLLM that loads
# the prompt embeddings with torch.load(weights_only=True) as vLLM does and answers a canned
# event stream; fault injection by URL path (/mode/NAME).  Needs /usr/bin/python3 with torch.

setup_file() {
  export MODEL="$CL_SHARED/models/tinystories-656k"
  export STMP="${CL_TMP:-tests/tmp}/cl-ask-server"
  rm -rf "$STMP"; mkdir -p "$STMP"
  [ -d "$MODEL" ] || return 0
  /usr/bin/python3 -c 'import torch' 2>/dev/null || return 0
  export ANSWER="Max was a happy dog who liked the park."
  /usr/bin/python3 tests/remote/fake_vllm.py --port-file "$STMP/port" --report-dir "$STMP" \
    --hidden 128 --max-model-len 512 --answer "$ANSWER" 3>&- &
  echo $! > "$STMP/pid"
  for _ in $(seq 150); do [ -f "$STMP/port" ] && break; sleep 0.1; done
  CL_MODEL="$MODEL" cl-compress --init-compressor "$STMP/k.gguf"
  CL_MODEL="$MODEL" cl-compress --compressor "$STMP/k.gguf" -o "$STMP/doc.ce" tests/data/demo-story.jsonl
}

teardown_file() {
  [ -f "$STMP/pid" ] && kill "$(cat "$STMP/pid")" 2>/dev/null || true
}

setup() {
  [ -d "$MODEL" ] || skip "../shared/models/tinystories-656k absent"
  /usr/bin/python3 -c 'import torch' 2>/dev/null || skip "python3-torch absent (apt-get install python3-torch)"
  [ -f "$STMP/port" ] || { echo "fake_vllm.py did not start"; return 1; }
  export CL_MODEL="$MODEL"
  unset CL_API_KEY
  URL="http://127.0.0.1:$(cat "$STMP/port")"
  Q="Who is Max?"
}

stat() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<< "$2" | tail -1; }

@test "cl-ask --server: CEs go as prompt embeddings; the answer is the server's stream; the tensor is the local one, bit for bit" {
  run env CL_ASK_DUMP_EMBEDDINGS="$STMP/local.f32" cl-ask --server "$URL" --stats "$STMP/doc.ce" "$Q"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$ANSWER" ]
  # what torch.load(weights_only=True) gave the server == the embeddings cl-ask computed locally
  cmp "$STMP/ok.bin" "$STMP/local.f32"
  grep -q '"shape": \[83, 128\], "dtype": "float32"' "$STMP/ok.json"
  # and, independently: token rows are rows of the model's embedding table, CE rows the CE file's
  run /usr/bin/python3 tests/remote/check_embeds.py "$STMP/ok.bin" float32 "$MODEL/model.safetensors" "$STMP/doc.ce"
  [ "$status" -eq 0 ]
  vectors=$(/usr/bin/python3 tests/cli/ce_dump.py "$STMP/doc.ce" | awk '{s += $6} END {print s}')
  [ "$(cut -d' ' -f3 <<< "$output")" -eq "$vectors" ]
  [ "$(cut -d' ' -f2 <<< "$output")" -ge 1 ]
}

@test "cl-ask --server: the local path reads the same embeddings; --stats reports TTFT and bytes sent" {
  CL_ASK_DUMP_EMBEDDINGS="$STMP/local2.f32" cl-ask --max-tokens 1 "$STMP/doc.ce" "$Q" > /dev/null
  run env CL_ASK_DUMP_EMBEDDINGS="$STMP/remote2.f32" cl-ask --server "$URL" --stats "$STMP/doc.ce" "$Q"
  cmp "$STMP/local2.f32" "$STMP/remote2.f32"
  s="${lines[1]}"
  [ "$(stat prompt_positions "$s")" -eq 83 ]
  [ "$(stat as_embeddings "$s")" -eq 1 ]
  [ "$(stat server_prompt_tokens "$s")" -eq 83 ]
  # bytes sent: the JSON body, which carries base64 of the torch.save archive (4/3 of it)
  [ "$(stat bytes_sent "$s")" -eq "$(sed -n 's/.*"body_bytes": \([0-9]*\).*/\1/p' "$STMP/ok.json")" ]
  payload=$(stat payload_bytes "$s")
  [ "$payload" -gt $((83 * 128 * 4)) ]
  [ "$(stat bytes_sent "$s")" -gt $((payload * 4 / 3)) ]
  awk -v t="$(stat ttft_s "$s")" -v a="$(stat total_s "$s")" 'BEGIN { exit !(t > 0 && t <= a) }'
}

@test "cl-ask --server --server-dtype bf16/f16: the server receives that dtype, rounded as torch rounds" {
  for dt in bf16:bfloat16 f16:float16; do
    run cl-ask --server "$URL" --server-dtype "${dt%%:*}" "$STMP/doc.ce" "$Q"
    [ "$status" -eq 0 ]
    grep -q "\"dtype\": \"${dt##*:}\"" "$STMP/ok.json"
    run /usr/bin/python3 tests/remote/check_embeds.py "$STMP/ok.bin" "${dt##*:}" "$MODEL/model.safetensors" "$STMP/doc.ce"
    [ "$status" -eq 0 ]
  done
  run cl-ask --server "$URL" --server-dtype q8 "$STMP/doc.ce" "$Q"
  [ "$status" -eq 2 ]
}

@test "cl-ask --server --text: the same prompt tokens as the local path, as token ids" {
  run cl-ask --server "$URL" --stats --text tests/data/demo-story.txt "$Q"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$ANSWER" ]
  [ "$(stat as_embeddings "${lines[1]}")" -eq 0 ]
  local_n=$(cl-ask --max-tokens 1 --stats --text tests/data/demo-story.txt "$Q" 2>&1 >/dev/null)
  [ "$(stat prompt_positions "${lines[1]}")" -eq "$(stat prompt_tokens "$local_n")" ]
  # the ids sent embed to exactly the rows the local path reads
  CL_ASK_DUMP_EMBEDDINGS="$STMP/text.f32" cl-ask --max-tokens 1 --text tests/data/demo-story.txt "$Q" > /dev/null
  /usr/bin/python3 - "$STMP/ok.json" "$STMP/text.f32" "$MODEL/model.safetensors" <<'PY'
import json, sys, numpy as np
sys.path.insert(0, "tests/remote")
from check_embeds import embed_table
ids = json.load(open(sys.argv[1]))["request"]["prompt"]
local = np.fromfile(sys.argv[2], "<f4").reshape(len(ids), -1)
assert np.array_equal(embed_table(sys.argv[3])[ids], local), "ids do not embed to the local rows"
PY
}

@test "cl-ask --server: --api-key and \$CL_API_KEY are sent as a bearer token; --server-model must be served" {
  CL_API_KEY=k1 cl-ask --server "$URL" "$STMP/doc.ce" "$Q" > /dev/null
  grep -q '"authorization": "Bearer k1"' "$STMP/ok.json"
  CL_API_KEY=k1 cl-ask --server "$URL" --api-key k2 "$STMP/doc.ce" "$Q" > /dev/null
  grep -q '"authorization": "Bearer k2"' "$STMP/ok.json"
  run cl-ask --server "$URL/v1/" --server-model test/tinystories "$STMP/doc.ce" "$Q"
  [ "$status" -eq 0 ]
  run cl-ask --server "$URL" --server-model other/model "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *'serves no model "other/model" (it serves "test/tinystories")'* ]]
  run cl-ask --api-key k "$STMP/doc.ce" "$Q"
  [ "$status" -eq 2 ]
}

@test "cl-ask --server: a prompt longer than the server's max_model_len is refused before sending" {
  for _ in 1 2 3 4 5; do cat tests/data/demo-story.txt; done > "$STMP/long.txt"
  rm -f "$STMP/ok.json"
  run cl-ask --server "$URL" --text "$STMP/long.txt" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"positions do not fit model \"test/tinystories\"'s max_model_len of 512"* ]]
  [ ! -e "$STMP/ok.json" ]
}

@test "cl-ask --server: connection refused, HTTP 500, a hanging server: one clear line each, exit 1" {
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run cl-ask --server "http://127.0.0.1:$port" --retries 0 "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-ask: http://127.0.0.1:$port/v1/models: cannot connect: Connection refused"* ]]
  run cl-ask --server "$URL/mode/500" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [ "$output" = "cl-ask: $URL/mode/500/v1/completions: HTTP 500: injected failure: the engine died" ]
  start=$(date +%s)
  run cl-ask --server "$URL/mode/hang" --timeout 1 "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [ "$output" = "cl-ask: $URL/mode/hang/v1/completions: no answer for 1 s (--timeout)" ]
  [ $(( $(date +%s) - start )) -lt 30 ]
}

@test "cl-ask --server: a cut, malformed or failing stream is an error saying the answer is incomplete" {
  run cl-ask --server "$URL/mode/cut" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "Max was" ]
  [[ "${lines[1]}" == *'ended before "data: [DONE]" (after 2 events); the answer above is incomplete' ]]
  run cl-ask --server "$URL/mode/malformed" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"malformed event 2 of the answer stream"* ]]
  run cl-ask --server "$URL/mode/streamerr" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"error inside the answer stream: injected: generation failed" ]]
  run cl-ask --server "$URL/mode/nostream" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"Content-Type application/json, not an event stream"* ]]
}

@test "cl-ask --server: a server without prompt-embeds support is named as such" {
  run cl-ask --server "$URL/mode/noembeds" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"HTTP 400: You must set \`--enable-prompt-embeds\` to input \`prompt_embeds\`." ]]
  # one that answers but did not read them: caught from the prompt size it reports
  run cl-ask --server "$URL/mode/ignore" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the server read a prompt of 1 tokens, not the 83 positions sent"* ]]
}

@test "cl-ask --server: a served model of another hidden size: the server's 400 names both sizes" {
  run cl-ask --server "$URL/mode/hidden64" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"HTTP 400: \`prompt_embeds\` hidden_size 128 does not match the model's hidden_size 64."* ]]
}

@test "cl-ask --server: HTTP 503 before any answer is retried (the request did not reach the model); --retries 0 does not" {
  run cl-ask --server "$URL/mode/busy1" --retries 0 "$STMP/doc.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"HTTP 503: server busy, try again" ]]
  # the server counts per mode: its next request (2nd) answers
  run cl-ask --server "$URL/mode/busy1" "$STMP/doc.ce" "$Q"
  [ "$status" -eq 0 ]
  [ "$output" = "$ANSWER" ]
}

@test "cl-ask --server --server-dtype f16: an embedding beyond f16 is refused before the request; bf16 sends it" {
  mkdir -p "$STMP/big"
  cp "$MODEL"/config.json "$MODEL"/tokenizer*.json "$MODEL"/model.safetensors "$STMP/big/"
  chmod u+w "$STMP/big/model.safetensors"
  /usr/bin/python3 tests/cli/quant_range.py poke "$STMP/big" lm_head.weight all 5 1e6   # the tied embeddings
  cl-compress --model "$STMP/big" --naive -o "$STMP/big.ce" tests/data/demo-story.jsonl
  run cl-ask --model "$STMP/big" --server "$URL" --server-dtype f16 "$STMP/big.ce" "$Q"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-ask: --server-dtype f16: prompt embeddings: torch.save: row "[0-9]*": element 5 is "*", beyond f16 (max 65504)" ]]
  run cl-ask --model "$STMP/big" --server "$URL" --server-dtype bf16 "$STMP/big.ce" "$Q"
  [ "$status" -eq 0 ]
}
