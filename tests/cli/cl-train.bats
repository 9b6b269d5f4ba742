#!/usr/bin/env bats
# cl-train: usage, input errors, a tiny end-to-end training run on tinystories-656k whose output
# cl-train --evaluate (and the compressor loader) accepts, and --gen-data determinism.

setup() {
  MODEL="$CL_SHARED/models/tinystories-656k"
  TMP="${CL_TMP:-tests/tmp}/cl-train.$$"
  mkdir -p "$TMP"
}

need_model() {
  [ -d "$MODEL" ] || skip "../shared/models/tinystories-656k absent"
}

@test "cl-train --help prints usage and exits 0" {
  run cl-train --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "cl-train: unknown option, missing data, bad numbers exit 2" {
  run cl-train --bogus x.jsonl
  [ "$status" -eq 2 ]
  run cl-train
  [ "$status" -eq 2 ]
  for bad in "--steps 5abc" "--rate x" "--lr 1e" "--batch 0" "--gen-data -3" "--threads 99999"; do
    run cl-train $bad x.jsonl
    [ "$status" -eq 2 ]
    [[ "$output" == "cl-train: bad "* ]]
  done
}

@test "cl-train: bad JSONL names the file and line, exit 1" {
  need_model
  printf '{"context":"Once upon a time. ","answer":" Tom"}\n{"context": 3}\n' > "$TMP/bad.jsonl"
  run cl-train --model "$MODEL" --steps 1 -o "$TMP/c.gguf" "$TMP/bad.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad.jsonl: line 2"*context* ]]
  [ ! -e "$TMP/c.gguf" ]
  printf '{"context":"Once upon a time. "\n' > "$TMP/bad2.jsonl"
  run cl-train --model "$MODEL" --steps 1 -o "$TMP/c.gguf" "$TMP/bad2.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad2.jsonl: line 1"* ]]
}

@test "cl-train: tiny run writes a compressor that --evaluate loads; dev loss is reported" {
  need_model
  cl-train --model "$MODEL" --gen-data 12 --seed 3 -o "$TMP/d.jsonl"
  [ "$(wc -l < "$TMP/d.jsonl")" -eq 12 ]
  head -8 "$TMP/d.jsonl" > "$TMP/train.jsonl"
  tail -4 "$TMP/d.jsonl" > "$TMP/dev.jsonl"
  printf '{"context":"Tom had a red ball. He liked it. ","question":"","answer":" Tom played."}\n' >> "$TMP/train.jsonl"
  run cl-train --model "$MODEL" --steps 6 --batch 3 --eval-every 3 --rank 2 --targets q,v \
      --dev "$TMP/dev.jsonl" -o "$TMP/c.gguf" "$TMP/train.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"dev loss"* ]]
  [[ "$output" == *"utility"* ]]
  [ -s "$TMP/c.gguf" ]
  [ -s "$TMP/c.gguf.ckpt" ]
  run cl-train --model "$MODEL" --evaluate --init "$TMP/c.gguf" --dev "$TMP/dev.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"nll_ce "* ]]
  [[ "$output" == *"utility "* ]]
  # resuming a finished run is a no-op that keeps the result
  run cl-train --model "$MODEL" --steps 6 --batch 3 --eval-every 3 --rank 2 --targets q,v \
      --dev "$TMP/dev.jsonl" -o "$TMP/c.gguf" --resume "$TMP/train.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"at step 6/6"* ]]
  # a checkpoint of other settings is refused
  run cl-train --model "$MODEL" --steps 7 --batch 3 --rank 2 --targets q,v \
      -o "$TMP/c.gguf" --resume "$TMP/train.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"other settings"* ]]
}

@test "cl-train --layers / --kl: bad lists refused naming the item; a KL-only run trains" {
  need_model
  cl-train --model "$MODEL" --gen-data 6 --seed 5 -o "$TMP/d.jsonl"
  for bad in "3" "0" "1,1" "x" "1,"; do
    run cl-train --model "$MODEL" --steps 1 --layers "$bad" -o "$TMP/c.gguf" "$TMP/d.jsonl"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--layers '$bad'"* ]]
    [ ! -e "$TMP/c.gguf" ]
  done
  run cl-train --model "$MODEL" --steps 1 --layers none -o "$TMP/c.gguf" "$TMP/d.jsonl"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--layers none"*"--kl"* ]]
  run cl-train --model "$MODEL" --steps 1 --kl -1 -o "$TMP/c.gguf" "$TMP/d.jsonl"
  [ "$status" -eq 2 ]
  # the KL term alone, and with layer 2's states: the dev loss goes down
  for sel in "--layers none --kl 1" "--layers 2 --kl 0.5"; do
    run cl-train --model "$MODEL" --steps 4 --batch 3 --lr 1e-2 --warmup 0 --eval-every 4 $sel \
        --dev "$TMP/d.jsonl" -o "$TMP/k.gguf" "$TMP/d.jsonl"
    [ "$status" -eq 0 ]
    start=$(sed -n 's/.*dev loss \([0-9.]*\) (start).*/\1/p' <<< "$output")
    best=$(sed -n 's/^best dev loss \([0-9.]*\) .*/\1/p' <<< "$output")
    awk -v a="$start" -v b="$best" 'BEGIN { exit !(b < a) }'
    rm -f "$TMP/k.gguf" "$TMP/k.gguf.ckpt"
  done
}

@test "cl-train --gen-data is deterministic for a seed" {
  need_model
  cl-train --model "$MODEL" --gen-data 3 --seed 9 -o "$TMP/a.jsonl"
  cl-train --model "$MODEL" --gen-data 3 --seed 9 > "$TMP/b.jsonl"
  cmp "$TMP/a.jsonl" "$TMP/b.jsonl"
  cl-train --model "$MODEL" --gen-data 3 --seed 10 > "$TMP/c.jsonl"
  ! cmp -s "$TMP/a.jsonl" "$TMP/c.jsonl"
}

@test "cl-train: interrupted by SIGINT and resumed == uninterrupted, bit for bit" {
  need_model
  head -6 models/data/tinystories-656k-dev.jsonl > "$TMP/t6.jsonl"
  args=(--model "$MODEL" --steps 300 --batch 2 --threads 2 --rank 2 --targets q,v --checkpoint-every 7)
  cl-train "${args[@]}" -o "$TMP/straight.gguf" "$TMP/t6.jsonl"
  cl-train "${args[@]}" -o "$TMP/cut.gguf" "$TMP/t6.jsonl" 2> "$TMP/cut.log" &
  pid=$!
  sleep 1.5
  kill -INT "$pid" || true
  st=0; wait "$pid" || st=$?
  # 130: stopped with a checkpoint; 0: it had finished before the signal (then resume is a no-op)
  [ "$st" -eq 130 ] || [ "$st" -eq 0 ]
  [ -s "$TMP/cut.gguf.ckpt" ]
  cl-train "${args[@]}" -o "$TMP/cut.gguf" --resume "$TMP/t6.jsonl"
  cmp "$TMP/straight.gguf" "$TMP/cut.gguf"
  cmp "$TMP/straight.gguf.ckpt" "$TMP/cut.gguf.ckpt"
}
