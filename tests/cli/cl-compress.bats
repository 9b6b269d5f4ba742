#!/usr/bin/env bats
# cl-compress end to end on tinystories-656k with an untrained compressor: CE records, batching
# and concatenation invariance, the segment cache, atomic output, errors.

load tiny_helper

setup() {
  tiny_setup cl-compress
  DOC=tests/data/demo-story.jsonl          # cl-segment's output for tests/data/demo-story.txt
  DUMP=tests/cli/ce_dump.py                # independent reader (python standard library)
  need_model
  export CL_MODEL="$MODEL"
  unset CL_CACHE CL_COMPRESSOR
  K="$TMP/k.gguf"
  cl-compress --init-compressor "$K"
}

teardown() { rm -rf "$TMP"; }

@test "cl-compress --help prints usage and exits 0" {
  run cl-compress --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "cl-compress: usage errors exit 2" {
  run cl-compress --bogus
  [ "$status" -eq 2 ]
  run cl-compress --batch 0 --compressor "$K"
  [ "$status" -eq 2 ]
  run cl-compress --naive --compressor "$K"
  [ "$status" -eq 2 ]
  run cl-compress --dtype f64 --compressor "$K"
  [ "$status" -eq 2 ]
}

@test "cl-compress: one record per segment, ceil(n/2) vectors of the model's dimension" {
  cl-compress --compressor "$K" < "$DOC" > "$TMP/doc.ce"
  run /usr/bin/python3 "$DUMP" "$TMP/doc.ce"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq "$(wc -l < "$DOC")" ]
  # every record: count == ceil(tokens/2), dim 128, f32; one base model, one compressor
  bad=$(printf '%s\n' "${lines[@]}" | awk '$6 != int(($5 + 1) / 2) || $7 != 128 || $8 != 0' | wc -l)
  [ "$bad" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | awk '{print $10, $11}' | sort -u | wc -l)" -eq 1 ]
  # segment index and source offsets come from the JSONL
  [ "$(printf '%s\n' "${lines[@]}" | awk '{print $2, $3, $4}' | head -2 | tr '\n' ' ')" = "0 0 54 1 54 58 " ]
}

@test "cl-compress: batch size and thread count never change a bit" {
  cl-compress --compressor "$K" --batch 64 < "$DOC" > "$TMP/b64.ce"
  cl-compress --compressor "$K" --batch 1 < "$DOC" > "$TMP/b1.ce"
  cl-compress --compressor "$K" --batch 5 --threads 2 < "$DOC" > "$TMP/b5.ce"
  cl-compress --compressor "$K" --batch 7 --threads 1 < "$DOC" > "$TMP/b7.ce"
  cmp "$TMP/b64.ce" "$TMP/b1.ce"
  cmp "$TMP/b64.ce" "$TMP/b5.ce"
  cmp "$TMP/b64.ce" "$TMP/b7.ce"
}

@test "cl-compress: the shipped compressor's CEs are the same bits for any batch, threads, cache" {
  # A trained adapter (nonzero LoRA B) and ~170 segments, so batches hold many segments of
  # assorted lengths; the kernel is whatever OpenBLAS picks on this machine.
  for i in 1 2 3 4 5 6 7 8 9 10; do sed "s/Lily/Lily $i/g; s/Max/Max $((i * 7))/g" tests/data/demo-story.txt; done |
    cl-segment > "$TMP/many.jsonl"
  [ "$(wc -l < "$TMP/many.jsonl")" -gt 150 ]
  C=models/tinystories-656k-c2.gguf
  cl-compress --compressor "$C" --batch 64 --threads 1 -o "$TMP/b64.ce" "$TMP/many.jsonl"
  cl-compress --compressor "$C" --batch 1 --threads 1 -o "$TMP/b1.ce" "$TMP/many.jsonl"
  cl-compress --compressor "$C" --batch 64 --threads 2 -o "$TMP/t2.ce" "$TMP/many.jsonl"
  cl-compress --compressor "$C" --batch 13 --threads 3 -o "$TMP/b13.ce" "$TMP/many.jsonl"
  cmp "$TMP/b64.ce" "$TMP/b1.ce"
  cmp "$TMP/b64.ce" "$TMP/t2.ce"
  cmp "$TMP/b64.ce" "$TMP/b13.ce"
  # the cache filled by a batch-1 run, read back by a batch-64 run: the same bytes again
  cl-compress --compressor "$C" --batch 1 --cache "$TMP/cache" -o "$TMP/cold.ce" "$TMP/many.jsonl"
  run cl-compress --compressor "$C" --batch 64 --cache "$TMP/cache" --stats -o "$TMP/warm.ce" "$TMP/many.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"computed":0,'* ]]
  cmp "$TMP/b64.ce" "$TMP/cold.ce"
  cmp "$TMP/b64.ce" "$TMP/warm.ce"
}

@test "shipped compressors: each name says the C and S the file records; --rate C picks <model>-cC.gguf" {
  # the tools look for <model>-cC.gguf in <their dir>/../models: a copy of cl-compress beside models/
  mkdir -p "$TMP/tree/bin"
  cp "$(command -v cl-compress)" "$TMP/tree/bin/"
  ln -s "$PWD/models" "$TMP/tree/models"
  n=0
  for f in models/tinystories-656k-c*.gguf; do
    name=$(basename "$f" .gguf)
    [[ "$name" =~ -c([0-9]+)(-s([0-9]+))?$ ]]
    C=${BASH_REMATCH[1]} S=${BASH_REMATCH[3]:-20}
    # cl-compress accepts --rate/--max-segment only when they are the file's
    cl-compress --compressor "$f" --rate "$C" --max-segment "$S" -o "$TMP/e.ce" "$DOC" 2> "$TMP/err" ||
      [[ "$(cat "$TMP/err")" == *"takes at most $S" ]]   # S < the demo's longest segment
    run cl-compress --compressor "$f" --rate "$((C + 1))" -o "$TMP/x.ce" "$DOC"
    [ "$status" -eq 1 ]
    run cl-compress --compressor "$f" --max-segment "$((S + 1))" -o "$TMP/x.ce" "$DOC"
    [ "$status" -eq 1 ]
    if [ "$S" = 20 ]; then   # the default file for --rate C: the same CEs, ceil(n/C) per segment
      "$TMP/tree/bin/cl-compress" --rate "$C" -o "$TMP/d.ce" "$DOC"
      cmp "$TMP/d.ce" "$TMP/e.ce"
      bad=$(/usr/bin/python3 "$DUMP" "$TMP/d.ce" | awk -v c="$C" '$6 != int(($5 + c - 1) / c)' | wc -l)
      [ "$bad" -eq 0 ]
    fi
    n=$((n + 1))
  done
  [ "$n" -ge 1 ]
}

@test "cl-compress: compressing the parts and concatenating = compressing the whole" {
  head -n 6 "$DOC" > "$TMP/a.jsonl"
  tail -n +7 "$DOC" > "$TMP/b.jsonl"
  cl-compress --compressor "$K" "$TMP/a.jsonl" > "$TMP/a.ce"
  cl-compress --compressor "$K" -o "$TMP/b.ce" "$TMP/b.jsonl"
  cl-compress --compressor "$K" "$DOC" > "$TMP/whole.ce"
  cat "$TMP/a.ce" "$TMP/b.ce" > "$TMP/ab.ce"
  cmp "$TMP/ab.ce" "$TMP/whole.ce"
  cl-compress --compressor "$K" "$TMP/a.jsonl" "$TMP/b.jsonl" | cmp - "$TMP/whole.ce"
}

@test "cl-compress --cache: a reordered document is all hits, with identical CEs" {
  cl-compress --compressor "$K" < "$DOC" > "$TMP/plain.ce"
  run cl-compress --compressor "$K" --cache "$TMP/cache" --stats -o "$TMP/cold.ce" "$DOC"
  [ "$status" -eq 0 ]
  n=$(wc -l < "$DOC")
  [[ "$output" == *"\"segments\":$n,"* && "$output" == *"\"cache_hits\":0,"* && "$output" == *"\"cache_misses\":$n,"* ]]
  cmp "$TMP/plain.ce" "$TMP/cold.ce"
  shuf --random-source="$DOC" "$DOC" > "$TMP/shuffled.jsonl"
  run cmp -s "$TMP/shuffled.jsonl" "$DOC"
  [ "$status" -ne 0 ]
  run cl-compress --compressor "$K" --cache "$TMP/cache" --stats -o "$TMP/warm.ce" "$TMP/shuffled.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"cache_hits\":$n,"* && "$output" == *"\"cache_misses\":0,"* && "$output" == *"\"computed\":0,"* ]]
  # the same records (payload hashes included), in the shuffled order
  diff <(/usr/bin/python3 "$DUMP" "$TMP/warm.ce" | sort) <(/usr/bin/python3 "$DUMP" "$TMP/plain.ce" | sort)
  # CL_CACHE works too, and a corrupt entry is a miss that gets recomputed identically
  f=$(find "$TMP/cache" -name '*.ce' | head -1)
  printf 'garbage' > "$f"
  CL_CACHE="$TMP/cache" run cl-compress --compressor "$K" --stats -o "$TMP/again.ce" "$DOC"
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"cache_hits\":$((n - 1)),"* && "$output" == *"\"cache_corrupt\":1,"* ]]
  cmp "$TMP/plain.ce" "$TMP/again.ce"
}

@test "cl-compress -o: bad input leaves no file (and an existing one untouched)" {
  cp "$DOC" "$TMP/bad.jsonl"
  echo '{"v":1,"name":"x","index":0,"offset":0,"length":1,"end":"tokens","text":"a","ids":[5,' >> "$TMP/bad.jsonl"
  run cl-compress --compressor "$K" -o "$TMP/out.ce" "$TMP/bad.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-compress:*bad.jsonl* ]]
  [ ! -e "$TMP/out.ce" ]
  echo keep > "$TMP/out.ce"
  run cl-compress --compressor "$K" -o "$TMP/out.ce" "$TMP/bad.jsonl"
  [ "$status" -eq 1 ]
  [ "$(cat "$TMP/out.ce")" = keep ]
  [ -z "$(ls "$TMP" | grep '\.tmp\.')" ]
}

@test "cl-compress: a segment longer than the compressor's S is an error" {
  ids=$(seq -s, 10 30)   # 21 ids
  echo "{\"v\":1,\"name\":\"x\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"tokens\",\"text\":\"a\",\"ids\":[$ids]}" > "$TMP/long.jsonl"
  run cl-compress --compressor "$K" -o "$TMP/long.ce" "$TMP/long.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"21 tokens"*"at most 20"* ]]
  [ ! -e "$TMP/long.ce" ]
}

@test "cl-compress: the file sets C and S; a differing --rate/--max-segment and init-only options are refused" {
  cl-compress --init-compressor "$TMP/k4.gguf" --rate 4 --max-segment 10
  run cl-compress --compressor "$TMP/k4.gguf" --max-segment 20 -o "$TMP/x.ce" "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-compress: $TMP/k4.gguf: segment length is 10, --max-segment says 20" ]]
  [ ! -e "$TMP/x.ce" ]
  run cl-compress --compressor "$TMP/k4.gguf" --rate 2 -o "$TMP/x.ce" "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == *"compression rate is 4, --rate says 2"* ]]
  for opt in "--rank 4" "--alpha 8" "--targets q" "--seed 3"; do
    run cl-compress --compressor "$TMP/k4.gguf" $opt -o "$TMP/x.ce" "$DOC"
    [ "$status" -eq 2 ]
    [[ "$output" == *"go with --init-compressor"* ]]
  done
  run cl-compress --naive --max-segment 10 -o "$TMP/x.ce" "$DOC"
  [ "$status" -eq 2 ]
  [ ! -e "$TMP/x.ce" ]
  # matching values are accepted; S=10 refuses the demo's longer segments, naming S
  run cl-compress --compressor "$TMP/k4.gguf" --rate 4 --max-segment 10 -o "$TMP/x.ce" "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the compressor takes at most 10"* ]]
}

@test "cl-compress: missing or foreign compressor files are clear errors" {
  run cl-compress --compressor "$TMP/none.gguf" < "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-compress:*none.gguf* ]]
  run cl-compress --compressor "$MODEL/model.safetensors" < "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-compress:* ]]
  OTHER="$CL_SHARED/models/stories260k/stories260K.bin"
  [ -f "$OTHER" ] || skip "stories260k absent"
  run cl-compress --model "$OTHER" --compressor "$K" < "$DOC"
  [ "$status" -eq 1 ]
  [[ "$output" == *"another base model"* ]]
}

@test "cl-compress --init-compressor: settings are kept; --naive and --dtype" {
  cl-compress --init-compressor "$TMP/k4.gguf" --rate 4 --max-segment 20 --rank 2 --targets q,v
  cl-compress --compressor "$TMP/k4.gguf" < "$DOC" > "$TMP/c4.ce"
  bad=$(/usr/bin/python3 "$DUMP" "$TMP/c4.ce" | awk '$6 != int(($5 + 3) / 4)' | wc -l)
  [ "$bad" -eq 0 ]
  run cl-compress --init-compressor "$TMP/bad.gguf" --targets q,nope
  [ "$status" -eq 2 ]   # a usage error (issue 12)
  cl-compress --naive < "$DOC" > "$TMP/naive.ce"
  cl-compress --compressor "$K" < "$DOC" > "$TMP/k.ce"
  [ "$(/usr/bin/python3 "$DUMP" "$TMP/naive.ce" | awk '{print $11}' | sort -u)" != "$(/usr/bin/python3 "$DUMP" "$TMP/k.ce" | awk '{print $11}' | sort -u)" ]
  cl-compress --compressor "$K" --dtype f16 < "$DOC" > "$TMP/h.ce"
  [ "$(/usr/bin/python3 "$DUMP" "$TMP/h.ce" | awk '{print $8}' | sort -u)" = 1 ]
  [ "$(stat -c %s "$TMP/h.ce")" -lt "$(stat -c %s "$TMP/k.ce")" ]
}

@test "cl-compress: the cl-segment pipeline, when cl-segment is built" {
  command -v cl-segment >/dev/null || skip "cl-segment not built"
  cl-segment < tests/data/demo-story.txt | cl-compress --compressor "$K" > "$TMP/p.ce"
  [ "$(/usr/bin/python3 "$DUMP" "$TMP/p.ce" | wc -l)" -gt 5 ]
}

@test "cl-compress --naive: segments of any length, whatever the batch" {
  ids=$(seq -s, 10 109)   # 100 ids: longer than the first slots
  { head -n 3 "$DOC"; echo "{\"v\":1,\"name\":\"x\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"tokens\",\"text\":\"a\",\"ids\":[$ids]}"; head -n 2 "$DOC"; } > "$TMP/long.jsonl"
  cl-compress --naive --batch 2 < "$TMP/long.jsonl" > "$TMP/n2.ce"
  cl-compress --naive --batch 64 < "$TMP/long.jsonl" > "$TMP/n64.ce"
  cmp "$TMP/n2.ce" "$TMP/n64.ce"
  [ "$(/usr/bin/python3 "$DUMP" "$TMP/n2.ce" | awk '{printf "%s/%s ", $5, $6}')" = "8/4 12/6 11/6 100/50 8/4 12/6 " ]
}
