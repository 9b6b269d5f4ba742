#!/usr/bin/env bats
# Hardening across the tools (issue 12): outputs that are devices, FIFOs or symlinks; the cache
# with FIFOs in it, read-only or full; write errors with path and errno; strict numbers; clear
# one-line errors; nothing silently degraded at the model's context limit.

setup() {
  MODEL="$CL_SHARED/models/tinystories-656k"
  TMP="${CL_TMP:-tests/tmp}/hardening.$BATS_TEST_NUMBER"
  rm -rf "$TMP"
  mkdir -p "$TMP"
  chmod 755 "$TMP"
  DOC=tests/data/demo-story.jsonl
  DUMP=tests/cli/ce_dump.py
  [ -d "$MODEL" ] || skip "../shared/models/tinystories-656k absent"
  export CL_MODEL="$MODEL" OPENBLAS_NUM_THREADS=1
  unset CL_CACHE CL_COMPRESSOR
}

teardown() { chmod -R u+w "$TMP" 2>/dev/null || true; }

# Run a command unable to write $TMP's read-only parts: as nobody when we are root (root ignores
# permissions), else as ourselves.
unprivileged() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}

# A character device to give as -o: as root our own node in $TMP (a broken build would replace
# that, not the machine's /dev/NAME); else the real /dev/NAME, which we cannot replace anyway.
# Never pass a real /dev path as -o in these tests.
dev_node() {
  if [ "$(id -u)" = 0 ]; then mknod -m 666 "$TMP/$1" c "$2" "$3"; echo "$TMP/$1"; else echo "/dev/$1"; fi
}

# ---- item 2: -o never replaces what is not a regular file ----

@test "-o a character device writes to it, and it stays the same device" {
  dev=$(dev_node null 1 3)
  before=$(stat -c '%F %t:%T %i' "$dev")
  cl-compress --naive -o "$dev" "$DOC"
  cl-segment -o "$dev" tests/data/segment-en.txt
  cl-model random --config tests/data/qwen3-0.6b-config.json --vocab 64 --out "$dev" 2>/dev/null || true
  [ "$(stat -c '%F %t:%T %i' "$dev")" = "$before" ]
  [ -c /dev/null ]
}

@test "-o a symlink: the target is replaced atomically, the link stays a link" {
  cl-compress --naive "$DOC" > "$TMP/want.ce"
  mkdir "$TMP/real"
  echo old > "$TMP/real/out.ce"
  ln -s real/out.ce "$TMP/link.ce"
  cl-compress --naive -o "$TMP/link.ce" "$DOC"
  [ -L "$TMP/link.ce" ]
  cmp "$TMP/want.ce" "$TMP/real/out.ce"
  [ -z "$(find "$TMP" -name '*.tmp.*')" ]
  # the GGUF writer (cl-compress --init-compressor) too
  ln -s real/k.gguf "$TMP/k-link.gguf"
  cl-compress --init-compressor "$TMP/k-link.gguf"
  [ -L "$TMP/k-link.gguf" ] && [ -f "$TMP/real/k.gguf" ]
}

@test "-o a FIFO writes into the pipe" {
  cl-compress --naive "$DOC" > "$TMP/want.ce"
  mkfifo "$TMP/fifo"
  timeout 60 cat "$TMP/fifo" > "$TMP/got.ce" &
  timeout 60 cl-compress --naive -o "$TMP/fifo" "$DOC"
  wait
  [ -p "$TMP/fifo" ]
  cmp "$TMP/want.ce" "$TMP/got.ce"
}

@test "SIGTERM during cl-compress -o leaves no temp file and the old output" {
  echo keep > "$TMP/out.ce"
  # a long input so that the signal arrives mid-run
  for i in $(seq 40); do cat "$DOC"; done > "$TMP/big.jsonl"
  cl-compress --naive --batch 1 -o "$TMP/out.ce" "$TMP/big.jsonl" & pid=$!
  sleep 0.3
  kill -TERM $pid 2>/dev/null || true
  wait $pid || true
  [ "$(cat "$TMP/out.ce")" = keep ] || cmp <(cl-compress --naive "$TMP/big.jsonl") "$TMP/out.ce"
  [ -z "$(find "$TMP" -name '*.tmp.*')" ]
}

# ---- item 3: the cache ----

@test "a FIFO in the cache is a miss, not a hang, and is replaced by the entry" {
  cl-compress --naive --cache "$TMP/cache" -o "$TMP/a.ce" "$DOC"
  n=$(find "$TMP/cache" -name '*.ce' | wc -l)
  [ "$n" -gt 0 ]
  for f in $(find "$TMP/cache" -name '*.ce' | head -3); do rm "$f"; mkfifo "$f"; done
  run timeout 60 cl-compress --naive --cache "$TMP/cache" --stats -o "$TMP/b.ce" "$DOC"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"cache_misses":3,'* ]]
  cmp "$TMP/a.ce" "$TMP/b.ce"
  [ -z "$(find "$TMP/cache" -type p)" ]
}

@test "a read-only cache (with or without its subdirectories) warns once and the run carries on" {
  cl-compress --naive "$DOC" > "$TMP/want.ce"
  mkdir -p "$TMP/ro-empty" "$TMP/ro-full"
  cl-compress --naive --cache "$TMP/ro-full" -o "$TMP/fill.ce" "$DOC"
  echo '{"v":1,"name":"x","index":0,"offset":0,"length":3,"end":"sentence","text":"new","ids":[5,6,7,8]}' > "$TMP/new.jsonl"
  chmod -R a-w "$TMP/ro-empty" "$TMP/ro-full"
  for c in "$TMP/ro-empty" "$TMP/ro-full" "$TMP/ro-empty/missing/deeper"; do
    unprivileged cl-compress --naive --cache "$c" "$DOC" "$TMP/new.jsonl" > "$TMP/got.ce" 2> "$TMP/err"
    cat "$TMP/err"
    [ "$(grep -c warning "$TMP/err")" -eq 1 ]
    grep -q "not writing to the cache for the rest of this run" "$TMP/err"
    cl-compress --naive "$DOC" "$TMP/new.jsonl" | cmp - "$TMP/got.ce"
  done
}

@test "a full cache (file size limit: EFBIG) warns once; the output is whole" {
  cl-compress --naive "$DOC" > "$TMP/want.ce"
  (ulimit -f 1; exec cl-compress --naive --cache "$TMP/cache" "$DOC" 2> "$TMP/err") | cat > "$TMP/got.ce"
  cat "$TMP/err"
  [ "$(grep -c warning "$TMP/err")" -eq 1 ]
  grep -q "File too large" "$TMP/err"
  cmp "$TMP/want.ce" "$TMP/got.ce"
}

# ---- item 5: errors ----

@test "write errors name the output and errno; a failed -o leaves the old file and no temp" {
  full=$(dev_node full 1 7)
  run cl-compress --naive -o "$full" "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-compress: $full: write error: No space left on device" ]]
  run cl-model convert "$MODEL" --out "$full"   # the GGUF writer
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-model: $full: write error: No space left on device" ]]
  echo keep > "$TMP/out.ce"
  run bash -c "ulimit -f 4; exec cl-compress --naive -o '$TMP/out.ce' '$DOC'"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$TMP/out.ce: write error: File too large"* ]]
  [ "$(cat "$TMP/out.ce")" = keep ]
  [ -z "$(find "$TMP" -name '*.tmp.*')" ]
  for t in "cl-segment tests/data/segment-en.txt" "cl-compress --naive $DOC" "cl-ask --max-tokens 3 Hi"; do
    run bash -c "$t > /dev/full"
    [ "$status" -eq 1 ]
    [[ "$output" == *": stdout: write error: No space left on device" ]]
  done
}

@test "reading a directory or a FIFO with no writer: one line, no hang" {
  run cl-compress --naive "$TMP"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-compress: $TMP: is a directory" ]]
  run cl-ask --text "$TMP" "What?"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-ask: $TMP: is a directory" ]]
  run cl-train --steps 1 "$TMP"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-train: $TMP: is a directory" ]]
  mkfifo "$TMP/fifo"
  run timeout 20 cl-model info "$TMP/fifo"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$TMP/fifo: not a regular file or directory" ]]
}

@test "token ids outside the vocabulary name the file and line" {
  head -3 "$DOC" > "$TMP/oov.jsonl"
  echo '{"v":1,"name":"x","index":3,"offset":0,"length":2,"end":"tokens","text":"ab","ids":[5,2048]}' >> "$TMP/oov.jsonl"
  run cl-compress --naive -o "$TMP/out.ce" "$TMP/oov.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-compress: $TMP/oov.jsonl: line 4: token id 2048 out of the model's vocabulary (2048 ids)"* ]]
  [ ! -e "$TMP/out.ce" ]
}

@test "numbers: seeds 0..2^64-1 only, strict integers, --targets checked: usage errors (exit 2)" {
  cl-compress --init-compressor "$TMP/k.gguf" --seed 18446744073709551615
  for bad in abc -1 18446744073709551616 " 5" 5x ""; do
    for t in "cl-compress --init-compressor $TMP/x.gguf" "cl-train" "cl-ask" "cl-eval" "cl-model random --config x --out y"; do
      run $t --seed "$bad" x
      [ "$status" -eq 2 ]
      [[ "$output" == *"--seed"* ]]
    done
  done
  run cl-compress --init-compressor "$TMP/x.gguf" --targets foo
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown "foo"'* ]]
  run cl-train --targets foo x.jsonl
  [ "$status" -eq 2 ]
  run cl-compress --init-compressor "$TMP/x.gguf" --alpha 1x
  [ "$status" -eq 2 ]
  [ ! -e "$TMP/x.gguf" ]
}

@test "cl-train: --steps 0 and an empty --dev name are refused; no examples names line and cause" {
  run cl-train --steps 0 x.jsonl
  [ "$status" -eq 2 ]
  run cl-train --dev "" x.jsonl
  [ "$status" -eq 2 ]
  : > "$TMP/empty.jsonl"
  printf '{"context":"Once upon a time. ","answer":" Tom"}\n' > "$TMP/one.jsonl"
  run cl-train --steps 1 --dev "$TMP/empty.jsonl" -o "$TMP/c.gguf" "$TMP/one.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-train: $TMP/empty.jsonl: no examples (no non-blank line)" ]]
  printf '\n{"context":"Once upon a time. ","answer":""}\n' > "$TMP/noans.jsonl"
  run cl-train --steps 1 -o "$TMP/c.gguf" "$TMP/noans.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-train: $TMP/noans.jsonl: no examples: all 1 skipped (first: line 2, the answer has no tokens)" ]]
  [ ! -e "$TMP/c.gguf" ]
}

# ---- item 6: the model's context ----

story() {   # N sentences of 13 tokens
  /usr/bin/python3 -c 'import sys; print(" ".join(["Once upon a time, there was a little dog named Max who liked to run in the park."] * int(sys.argv[1])))' "$1"
}

@test "cl-train: an example longer than the context is refused by line; --allow-long keeps it with a warning" {
  { printf '{"context":"Tom had a ball. ","answer":" It was red."}\n'
    printf '{"context":"%s","answer":" The end."}\n' "$(story 45)"; } > "$TMP/long.jsonl"
  run cl-train --steps 1 -o "$TMP/c.gguf" "$TMP/long.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-train: $TMP/long.jsonl: line 2: "*" exceed the model's context of 512 (--allow-long keeps such examples)" ]]
  run cl-train --steps 1 --batch 1 --allow-long -o "$TMP/c.gguf" "$TMP/long.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: 1 examples are longer than the model's context of 512 tokens"* ]]
}

@test "cl-eval fidelity warns about prompts beyond the model's context" {
  printf '{"context":"%s","question":"","answers":[" The end."]}\n' "$(story 45)" > "$TMP/long.jsonl"
  cl-compress --init-compressor "$TMP/k.gguf"
  run cl-eval --data "$TMP/long.jsonl" --compressor "$TMP/k.gguf" --agree-tokens 2 --json "$TMP/s.json"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: 1 of 1 prompts (+ answer) exceed the model's context of 512 tokens"* ]]
}

@test "cl-ask stops at the model's context; a CE file last is not a question" {
  story 35 > "$TMP/story.txt"   # a prompt of 464 tokens
  cl-ask --stats --max-tokens 200 --temperature 1 --seed 7 --text "$TMP/story.txt" "What did Max like?" \
    > "$TMP/answer.txt" 2> "$TMP/err"
  output=$(cat "$TMP/err")
  stats=$(grep '^{' "$TMP/err")
  p=$(echo "$stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["prompt_tokens"])')
  g=$(echo "$stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["gen_tokens"])')
  echo "prompt $p, generated $g"
  [ "$p" -lt 512 ]
  # no EOS comes this early with this seed: the answer fills the context exactly (the last token
  # is predicted at position 511, and not fed back)
  [ "$g" -eq $((512 - p + 1)) ]
  [[ "$output" == *"the answer stops where the context is full"* ]]
  cl-compress --naive -o "$TMP/story.ce" "$DOC"
  run cl-ask "$TMP/story.ce"
  [ "$status" -eq 2 ]
  [[ "$output" == "cl-ask: missing QUESTION after the CE file $TMP/story.ce"* ]]
  # several CE files and no question: the last one is no question either
  cp "$TMP/story.ce" "$TMP/b.ce"
  run cl-ask "$TMP/story.ce" "$TMP/b.ce"
  [ "$status" -eq 2 ]
  [[ "$output" == "cl-ask: missing QUESTION after the CE file $TMP/b.ce"* ]]
}

@test "GGUF: a rope.dimension_count other than the head size is refused with its key" {
  cl-model convert "$MODEL" --out "$TMP/m.gguf"
  /usr/bin/python3 - "$TMP/m.gguf" <<'PY'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
key = b"llama.rope.dimension_count"
i = b.index(key) + len(key)
assert struct.unpack_from("<I", b, i)[0] == 4          # GGUF_UINT32
struct.pack_into("<I", b, i + 4, struct.unpack_from("<I", b, i + 4)[0] // 2)
open(p, "wb").write(b)
PY
  run cl-model info "$TMP/m.gguf"
  [ "$status" -eq 1 ]
  [[ "$output" == *"llama.rope.dimension_count 8 != head dim 16 (partial RoPE) unsupported" ]]
}
