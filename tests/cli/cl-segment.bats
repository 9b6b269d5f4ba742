#!/usr/bin/env bats
# cl-segment: JSONL format, byte-exact reconstruction, offsets, the <= S ids invariant,
# several languages, invalid UTF-8, empty input, giant lines, CRLF, options and exit codes.
# The output is checked by tests/cli/check_segments.py (Python's json, independent of the C code).

setup() {
  SHARED=${CL_SHARED:-../shared}
  MODEL=$SHARED/models/tinystories-656k
  [ -d "$MODEL" ] || skip "needs $MODEL (the shared models)"
  export CL_MODEL=$MODEL
  [ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3 to check the JSON"
  CHECK=tests/cli/check_segments.py
  T=${CL_TMP:-tests/tmp}/seg.$BATS_TEST_NUMBER
  mkdir -p "$T"
}

@test "--help prints usage on stdout and exits 0" {
  run cl-segment --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *--max-tokens* ]]
}

@test "unknown option and bad --max-tokens are usage errors (exit 2)" {
  run cl-segment --frobnicate
  [ "$status" -eq 2 ]
  run cl-segment --max-tokens 0
  [ "$status" -eq 2 ]
  run cl-segment -S 12x
  [ "$status" -eq 2 ]
  run cl-segment --name x a b
  [ "$status" -eq 2 ]
}

@test "English, German, Chinese, Japanese, URLs: texts concatenate to the input, offsets and <= 20 ids" {
  for f in tests/data/segment-*.txt; do
    cl-segment "$f" > "$T/out.jsonl"
    run /usr/bin/python3 $CHECK 20 "$f" < "$T/out.jsonl"
    echo "$f: $output"
    [ "$status" -eq 0 ]
  done
}

@test "small limits (-S 3, -S 7) hold for every segment" {
  for s in 3 7; do
    cl-segment -S $s tests/data/segment-en.txt tests/data/segment-de.txt tests/data/segment-urls.txt > "$T/out.jsonl"
    run /usr/bin/python3 $CHECK $s tests/data/segment-en.txt tests/data/segment-de.txt tests/data/segment-urls.txt < "$T/out.jsonl"
    echo "$output"
    [ "$status" -eq 0 ]
  done
}

@test "a limit of 1 cannot hold a SentencePiece segment: clear error, exit 1" {
  run cl-segment -S 1 tests/data/segment-en.txt
  [ "$status" -eq 1 ]
  [[ "$output" == *"more than 1 tokens"* ]]
}

@test "format: v1 fields, sentence ends, cuts by tokens" {
  printf 'Hello world. This is a rather long sentence that the tokenizer turns into far more than twenty tokens, so it is cut. Bye.\n' > "$T/in.txt"
  cl-segment "$T/in.txt" > "$T/out.jsonl"
  run /usr/bin/python3 -c '
import json, sys
segs = [json.loads(l) for l in open(sys.argv[1])]
assert segs[0]["text"] == "Hello world. " and segs[0]["end"] == "sentence", segs[0]
assert segs[0]["offset"] == 0 and segs[0]["length"] == 13 and segs[0]["index"] == 0
assert segs[0]["name"] == sys.argv[2] and segs[0]["v"] == 1
assert any(s["end"] == "tokens" for s in segs), "no cut by tokens"
assert segs[-1]["text"] == "Bye.\n" and segs[-1]["end"] == "sentence"
tok = [s for s in segs if s["end"] == "tokens"]
assert all(s["text"].endswith(" ") for s in tok), "cuts are not at word starts"
print("ok")' "$T/out.jsonl" "$T/in.txt"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "llama2.c model with byte fallback: CJK characters are never cut" {
  M=$SHARED/models/stories260k/stories260K.bin
  [ -f "$M" ] || skip "needs $M"
  cl-segment -m "$M" -S 8 tests/data/segment-zh.txt tests/data/segment-ja.txt > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 8 tests/data/segment-zh.txt tests/data/segment-ja.txt < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
  n=$(grep -c '"end":"tokens"' "$T/out.jsonl")
  [ "$n" -gt 10 ]
}

@test "stdin: name \"-\"; --name overrides; several files restart index and offsets" {
  cl-segment < tests/data/segment-en.txt > "$T/a.jsonl"
  head -1 "$T/a.jsonl" | grep -q '"name":"-","index":0,"offset":0,'
  cl-segment --name doc1 < tests/data/segment-en.txt | head -1 | grep -q '"name":"doc1"'
  cl-segment tests/data/segment-en.txt - tests/data/segment-urls.txt < tests/data/segment-de.txt > "$T/b.jsonl"
  run /usr/bin/python3 $CHECK 20 tests/data/segment-en.txt tests/data/segment-de.txt tests/data/segment-urls.txt \
    --names tests/data/segment-en.txt,-,tests/data/segment-urls.txt < "$T/b.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "empty input: empty output, exit 0" {
  run cl-segment < /dev/null
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "invalid UTF-8: exit 1 with the byte offset; -o output is not left behind" {
  printf 'Good. Bad \xff here.\n' > "$T/bad.txt"
  run cl-segment -o "$T/out.jsonl" "$T/bad.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad.txt: offset 10: invalid UTF-8"* ]]
  [ ! -e "$T/out.jsonl" ]
  printf 'Truncated \xe2\x82' > "$T/trunc.txt"
  run cl-segment "$T/trunc.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == *"offset 10: invalid UTF-8"*truncated* ]]
}

@test "--lossy: U+FFFD, reported on stderr with offsets, lengths in input bytes" {
  printf 'Good. Bad \xff here. And \xe2\x82 there \xc0\xaf.\n' > "$T/bad.txt"
  cl-segment --lossy "$T/bad.txt" > "$T/out.jsonl" 2> "$T/err"
  cat "$T/err"
  grep -q 'offset 10: invalid UTF-8 (1 byte) replaced by U+FFFD' "$T/err"
  grep -q 'offset 22: invalid UTF-8 (2 bytes) replaced' "$T/err"
  [ "$(grep -c replaced "$T/err")" -eq 4 ]   # 0xC0 and 0xAF are one each
  run /usr/bin/python3 $CHECK 20 "$T/bad.txt" --lossy < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "a 3 MB line without punctuation streams: cut by tokens, <= 20 ids, exact" {
  /usr/bin/python3 -c 'import sys; sys.stdout.write("the little dog ran to the park and " * 90000)' > "$T/long.txt"
  cl-segment "$T/long.txt" > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 20 "$T/long.txt" < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '"end":"sentence"' "$T/out.jsonl")" -eq 1 ]
}

@test "a long run without spaces or punctuation is cut on token boundaries" {
  /usr/bin/python3 -c 'import sys; sys.stdout.write("abcdefghij" * 5000)' > "$T/word.txt"
  cl-segment -S 5 "$T/word.txt" > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 5 "$T/word.txt" < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "CRLF input: exact, and CR LF never split" {
  sed 's/$/\r/' tests/data/segment-en.txt > "$T/crlf.txt"
  cl-segment "$T/crlf.txt" > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 20 "$T/crlf.txt" < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
  ! grep -q '"text":"\\n' "$T/out.jsonl"
}

@test "-o FILE writes the same as stdout" {
  cl-segment tests/data/segment-de.txt > "$T/a.jsonl"
  cl-segment -o "$T/b.jsonl" tests/data/segment-de.txt
  cmp "$T/a.jsonl" "$T/b.jsonl"
}

@test "--locale and the environment's locale are accepted" {
  cl-segment --locale ja tests/data/segment-ja.txt > "$T/a.jsonl"
  LC_ALL=de_DE.UTF-8 cl-segment tests/data/segment-de.txt > "$T/b.jsonl"
  run /usr/bin/python3 $CHECK 20 tests/data/segment-de.txt < "$T/b.jsonl"
  [ "$status" -eq 0 ]
}

@test "missing input file or model: exit 1 with a message" {
  run cl-segment "$T/nope.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == *"nope.txt"* ]]
  run cl-segment --model "$T/nomodel" tests/data/segment-en.txt
  [ "$status" -eq 1 ]
  [[ "$output" == cl-segment:* ]]
}

@test "no sentence break after abbreviations, initials, ordinal dates or inside URLs" {
  printf 'One day, Mr. Brown came. Das ist z. B. gut. Am 3. Oktober kam Dr. M\xc3\xbcller. See a.b?x=1 now. Dann ging er. Die Tür.\n' > "$T/abbr.txt"
  cl-segment -S 1000 "$T/abbr.txt" > "$T/out.jsonl"
  run /usr/bin/python3 -c '
import json, sys
print([json.loads(l)["text"] for l in open(sys.argv[1])])' "$T/out.jsonl"
  echo "$output"
  [ "$output" = "['One day, Mr. Brown came. ', 'Das ist z. B. gut. ', 'Am 3. Oktober kam Dr. Müller. ', 'See a.b?x=1 now. ', 'Dann ging er. ', 'Die Tür.\\n']" ]
}

@test "CR LF is never split, even by token cuts (-S 3, -S 5)" {
  sed 's/$/\r/' tests/data/segment-en.txt > "$T/crlf.txt"
  for s in 3 5; do
    cl-segment -S $s "$T/crlf.txt" > "$T/out.jsonl"
    run /usr/bin/python3 $CHECK $s "$T/crlf.txt" < "$T/out.jsonl"
    echo "-S $s: $output"
    [ "$status" -eq 0 ]
    ! grep -q '"text":"\\n' "$T/out.jsonl"
  done
}

@test "a short sentence followed by many blank lines stays whole" {
  /usr/bin/python3 -c 'import sys; sys.stdout.write("Once upon a time there was a cat." + "\n" * 40 + "The end.\n")' > "$T/bl.txt"
  cl-segment "$T/bl.txt" > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 20 "$T/bl.txt" < "$T/out.jsonl"
  [ "$status" -eq 0 ]
  head -1 "$T/out.jsonl" | grep -q '"text":"Once upon a time there was a cat.\\n"'
  # text without spaces (Chinese) is not cut inside the sentence either
  /usr/bin/python3 -c 'import sys; sys.stdout.write("我们去公园。" + "\n" * 40)' > "$T/zh.txt"
  cl-segment -m "$SHARED/tokenizers/smollm2-135m-instruct" "$T/zh.txt" > "$T/zh.jsonl"
  run /usr/bin/python3 $CHECK 20 "$T/zh.txt" < "$T/zh.jsonl"
  [ "$status" -eq 0 ]
  head -1 "$T/zh.jsonl" | grep -q '"text":"我们去公园。\\n"'
}

@test "a 3 MB run of one character the tokenizer folds into one <unk> is still cut (bounded pieces)" {
  /usr/bin/python3 -c 'import sys; sys.stdout.write("你" * 1000000)' > "$T/ni.txt"
  cl-segment "$T/ni.txt" > "$T/out.jsonl"
  run /usr/bin/python3 $CHECK 20 "$T/ni.txt" < "$T/out.jsonl"
  echo "$output"
  [ "$status" -eq 0 ]
  # S=20: pieces hold at most 4096 bytes, so at least 3000000/4096 segments
  [ "$(wc -l < "$T/out.jsonl")" -ge 733 ]
  /usr/bin/python3 -c '
import json, sys
m = max(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1]))
sys.exit(0 if m <= 4096 else 1)' "$T/out.jsonl"
}

@test "a file name that is not UTF-8: valid JSON with \\xHH escapes, which cl-compress reads back" {
  f="$T/bad-$(printf '\xff\xfe')name.txt"
  printf 'Hello there. The end.\n' > "$f"
  cl-segment "$f" > "$T/out.jsonl"
  /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1], "rb"):
    n = json.loads(l.decode("utf-8"))["name"]
    assert n.endswith("bad-\\xFF\\xFEname.txt"), n' "$T/out.jsonl"
  cl-compress --naive -o "$T/out.ce" "$T/out.jsonl"
  /usr/bin/python3 tests/cli/ce_dump.py "$T/out.ce" | grep -q 'bad-\\xFF\\xFEname.txt'
}

@test "a name over 65535 bytes is cut at a character boundary: valid UTF-8 in JSON and in CE" {
  name=$(/usr/bin/python3 -c 'print("é" * 40000)')
  printf 'Hello there.\n' | cl-segment --name "$name" > "$T/out.jsonl"
  /usr/bin/python3 -c '
import json, sys
n = json.loads(open(sys.argv[1], "rb").readline().decode("utf-8"))["name"]
assert n == "é" * 32767, len(n.encode())' "$T/out.jsonl"
  cl-compress --naive -o "$T/out.ce" "$T/out.jsonl"
  /usr/bin/python3 tests/cli/ce_dump.py "$T/out.ce" > "$T/dump.txt"
}

@test "the tokenizer alone: --model DIR with only tokenizer.json, --tokenizer tokenizer.json or GGUF" {
  tok=$SHARED/tokenizers/smollm2-135m-instruct
  [ ! -e "$tok/model.safetensors" ]
  cl-segment --model "$tok" tests/data/segment-en.txt > "$T/a.jsonl"
  cl-segment --tokenizer "$tok/tokenizer.json" tests/data/segment-en.txt > "$T/b.jsonl"
  cmp "$T/a.jsonl" "$T/b.jsonl"
  run /usr/bin/python3 $CHECK 20 tests/data/segment-en.txt < "$T/a.jsonl"
  [ "$status" -eq 0 ]
  cl-model convert "$MODEL" --out "$T/m.gguf"
  cl-segment tests/data/segment-en.txt > "$T/c.jsonl"
  cl-segment --tokenizer "$T/m.gguf" tests/data/segment-en.txt > "$T/d.jsonl"
  cmp "$T/c.jsonl" "$T/d.jsonl"
  run cl-segment --model "$MODEL" --tokenizer "$T/m.gguf" tests/data/segment-en.txt
  [ "$status" -eq 2 ]
}

@test "reading a directory says so; -o a directory says so" {
  run cl-segment "$T"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-segment: $T: is a directory" ]]
  run cl-segment -o "$T" tests/data/segment-en.txt
  [ "$status" -eq 1 ]
  [[ "$output" == *"$T: is a directory"* ]]
}

@test "-o a symlink writes its target and keeps the link; -o a FIFO writes into it" {
  cl-segment tests/data/segment-en.txt > "$T/want.jsonl"
  echo old > "$T/target.jsonl"
  ln -s target.jsonl "$T/link.jsonl"
  cl-segment -o "$T/link.jsonl" tests/data/segment-en.txt
  [ -L "$T/link.jsonl" ]
  cmp "$T/want.jsonl" "$T/target.jsonl"
  mkfifo "$T/fifo"
  timeout 60 cat "$T/fifo" > "$T/from-fifo.jsonl" &
  timeout 30 cl-segment -o "$T/fifo" tests/data/segment-en.txt
  wait
  [ -p "$T/fifo" ]
  cmp "$T/want.jsonl" "$T/from-fifo.jsonl"
}

@test "--compressor FILE: S is the file's segment length (cl-compress accepts the result); a differing -S is refused" {
  C40=models/tinystories-656k-c2-s40.gguf
  [ -f "$C40" ] || skip "$C40 not shipped"
  # one long sentence (> 40 tokens) and short ones: S=40 and S=20 cut it differently
  printf 'Once upon a time, there was a little girl named Lily who liked to play with her red ball and her big brown dog in the park near the old house every sunny day of the long summer with her friends Tom and Sue. She was happy. ' > "$T/in.txt"
  cl-segment --compressor "$C40" "$T/in.txt" > "$T/c.jsonl"
  cl-segment -S 40 "$T/in.txt" > "$T/s40.jsonl"
  cl-segment "$T/in.txt" > "$T/s20.jsonl"
  cmp "$T/c.jsonl" "$T/s40.jsonl"
  ! cmp -s "$T/c.jsonl" "$T/s20.jsonl"
  run /usr/bin/python3 $CHECK 40 "$T/in.txt" < "$T/c.jsonl"
  [ "$status" -eq 0 ]
  # some segment needs the room: more than 20 ids
  /usr/bin/python3 -c 'import json, sys; assert max(len(json.loads(l)["ids"]) for l in open(sys.argv[1])) > 20' "$T/c.jsonl"
  # the same -S is fine; another is a one-line error naming the file, nothing written
  cl-segment --compressor "$C40" -S 40 "$T/in.txt" | cmp - "$T/s40.jsonl"
  run cl-segment --compressor "$C40" -S 20 -o "$T/x.jsonl" "$T/in.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-segment: $C40: segment length is 40, -S/--max-tokens says 20" ]]
  [ ! -e "$T/x.jsonl" ]
  run cl-segment --compressor "$T/in.txt" "$T/in.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-segment: $T/in.txt:"* ]]
  # what it wrote is what cl-compress takes for this compressor, and too long for an S=20 one
  cl-compress --compressor "$C40" -o "$T/c.ce" "$T/c.jsonl"
  if [ -f models/tinystories-656k-c2.gguf ]; then
    run cl-compress --compressor models/tinystories-656k-c2.gguf -o "$T/d.ce" "$T/c.jsonl"
    [ "$status" -ne 0 ]
  fi
}
