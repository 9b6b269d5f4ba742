#!/usr/bin/env bats
# cl-train: usage, input errors, a tiny end-to-end training run on tinystories-656k whose output
# cl-train --evaluate (and the compressor loader) accepts, and --gen-data determinism.

load tiny_helper

setup() {
  tiny_setup cl-train
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

@test "cl-train: the teacher's answers and states do not depend on --threads" {
  need_model
  # 40 dev stories without answers (the teacher writes them, in parallel) and one with its own
  head -40 models/data/tinystories-656k-dev.jsonl > "$TMP/d40.jsonl"
  printf '{"context":"Tom had a red ball. He liked it. ","answer":" Tom played."}\n' >> "$TMP/d40.jsonl"
  for t in 1 3; do
    cl-train --model "$MODEL" --evaluate --init models/tinystories-656k-c2.gguf --dev "$TMP/d40.jsonl" \
        --threads $t > "$TMP/ev$t.txt"
  done
  grep -q "^examples 41$" "$TMP/ev1.txt"
  # the NLLs, top-1 and agreement score the answers: equal to the last digit
  diff <(grep -v dev_loss "$TMP/ev1.txt") <(grep -v dev_loss "$TMP/ev3.txt")
  # the dev loss reads the states; threads only reorder its sum (1e-6 relative at most)
  paste <(grep dev_loss "$TMP/ev1.txt") <(grep dev_loss "$TMP/ev3.txt") |
      awk '{ d = $2 - $4; if (d < 0) d = -d; exit !(d <= 1e-6 * $2 + 1e-5) }'
}

@test "cl-train --layers / --kl / --ce: bad lists refused naming the item; KL-only and NLL-only runs train" {
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
  [[ "$output" == *"--ce"* ]]
  for bad in "--kl -1" "--ce -1" "--ce x"; do
    run cl-train --model "$MODEL" --steps 1 $bad -o "$TMP/c.gguf" "$TMP/d.jsonl"
    [ "$status" -eq 2 ]
    [[ "$output" == *"${bad% *}"* ]]
  done
  # the KL term alone, the answer NLL alone, each with layer 2's states: the dev loss goes down
  for sel in "--layers none --kl 1" "--layers 2 --kl 0.5" "--layers none --ce 1" "--layers 2 --kl 1 --ce 0.5"; do
    run cl-train --model "$MODEL" --steps 4 --batch 3 --lr 1e-2 --warmup 0 --eval-every 4 $sel \
        --dev "$TMP/d.jsonl" -o "$TMP/k.gguf" "$TMP/d.jsonl"
    [ "$status" -eq 0 ]
    start=$(sed -n 's/.*dev loss \([0-9.]*\) (start).*/\1/p' <<< "$output")
    best=$(sed -n 's/^best dev loss \([0-9.]*\) .*/\1/p' <<< "$output")
    awk -v a="$start" -v b="$best" 'BEGIN { exit !(b < a) }'
    rm -f "$TMP/k.gguf" "$TMP/k.gguf.ckpt"
  done
}

@test "cl-train --ema: bad decays refused; 1e-30 (1 - D is 1 in float) is the raw run; resume needs the same --ema" {
  need_model
  head -6 models/data/tinystories-656k-dev.jsonl > "$TMP/t6.jsonl"
  for bad in 1 1.5 -0.1 x; do
    run cl-train --model "$MODEL" --steps 1 --ema "$bad" -o "$TMP/c.gguf" "$TMP/t6.jsonl"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--ema"* ]]
    [ ! -e "$TMP/c.gguf" ]
  done
  args=(--model "$MODEL" --steps 6 --batch 2 --rank 2 --targets q,v --lr 1e-2 --warmup 0)
  cl-train "${args[@]}" -o "$TMP/raw.gguf" "$TMP/t6.jsonl"
  # 1 - 1e-30 is 1 in float: the average follows the parameters exactly
  cl-train "${args[@]}" --ema 1e-30 -o "$TMP/same.gguf" "$TMP/t6.jsonl"
  cmp "$TMP/raw.gguf" "$TMP/same.gguf"
  cl-train "${args[@]}" --ema 0.5 -o "$TMP/avg.gguf" "$TMP/t6.jsonl"
  ! cmp -s "$TMP/raw.gguf" "$TMP/avg.gguf"
  # the checkpoint holds the average too (4 arrays, not 3), and its tag has the decay
  [ "$(stat -c %s "$TMP/avg.gguf.ckpt")" -gt "$(stat -c %s "$TMP/raw.gguf.ckpt")" ]
  run cl-train "${args[@]}" --ema 0.6 --resume -o "$TMP/avg.gguf" "$TMP/t6.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"avg.gguf.ckpt: checkpoint is for other settings or data"* ]]
  run cl-train "${args[@]}" --resume -o "$TMP/avg.gguf" "$TMP/t6.jsonl"
  [ "$status" -eq 1 ]
  cp "$TMP/avg.gguf" "$TMP/avg0.gguf"
  cl-train "${args[@]}" --ema 0.5 --resume -o "$TMP/avg.gguf" "$TMP/t6.jsonl"
  cmp "$TMP/avg0.gguf" "$TMP/avg.gguf"
}

@test "cl-train --gen-data is deterministic for a seed" {
  need_model
  cl-train --model "$MODEL" --gen-data 3 --seed 9 -o "$TMP/a.jsonl"
  cl-train --model "$MODEL" --gen-data 3 --seed 9 > "$TMP/b.jsonl"
  cmp "$TMP/a.jsonl" "$TMP/b.jsonl"
  cl-train --model "$MODEL" --gen-data 3 --seed 10 > "$TMP/c.jsonl"
  ! cmp -s "$TMP/a.jsonl" "$TMP/c.jsonl"
}

@test "cl-train --gen-data skips stories whose context leaves no room for the answer; the rest as without the limit" {
  need_model
  # 440 answer tokens leave 71 of the model's 512 for BOS and the context: most stories skipped
  run cl-train --model "$MODEL" --gen-data 6 --seed 4 --answer-tokens 440 -o "$TMP/short.jsonl"
  [ "$status" -eq 0 ]
  skipped=$(sed -n 's/.*skipped \([0-9]*\) stories whose context + 440 answer tokens exceed .* 512$/\1/p' <<< "$output")
  [ "$skipped" -gt 0 ]
  [ "$(wc -l < "$TMP/short.jsonl")" -eq 6 ]
  # the same seed with room to spare: the skipped stories come back in place, the others unchanged
  cl-train --model "$MODEL" --gen-data $((6 + skipped)) --seed 4 -o "$TMP/all.jsonl"
  [ "$(grep -cvxFf "$TMP/short.jsonl" "$TMP/all.jsonl")" -eq "$skipped" ]
  [ "$(grep -xFf "$TMP/short.jsonl" "$TMP/all.jsonl")" = "$(cat "$TMP/short.jsonl")" ]
  # training with that answer length reads the kept stories and refuses the others
  run cl-train --model "$MODEL" --steps 1 --batch 2 --answer-tokens 440 -o "$TMP/s.gguf" "$TMP/short.jsonl"
  [ "$status" -eq 0 ]
  run cl-train --model "$MODEL" --steps 1 --batch 2 --answer-tokens 440 -o "$TMP/a.gguf" "$TMP/all.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"exceed the model's context of 512"* ]]
  run cl-train --model "$MODEL" --gen-data 1 --answer-tokens 511 -o "$TMP/none.jsonl"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--answer-tokens 511 leaves no room"* ]]
  [ ! -e "$TMP/none.jsonl" ]
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

@test "cl-train: a signal while the examples are read stops at once: 130, a message, nothing written" {
  need_model
  # the dev set 10 times: seconds of teacher answers, so the signal lands while they are made
  for i in 1 2 3 4 5 6 7 8 9 10; do cat models/data/tinystories-656k-dev.jsonl; done > "$TMP/big.jsonl"
  cl-train --model "$MODEL" --progress --steps 10 -o "$TMP/int.gguf" "$TMP/big.jsonl" 2> "$TMP/int.log" &
  pid=$!
  # the first progress line (after 2 s of reading) says the handler is in place
  for i in $(seq 600); do grep -q "examples read" "$TMP/int.log" && break; sleep 0.1; done
  kill -INT "$pid"
  st=0; wait "$pid" || st=$?
  [ "$st" -eq 130 ]
  grep -q "big.jsonl: interrupted at line [0-9]*: stopped before training" "$TMP/int.log"
  [ ! -e "$TMP/int.gguf" ]
  [ ! -e "$TMP/int.gguf.ckpt" ]
}

@test "cl-train --init across rates: --rate/--max-segment set the new C and S, the tools use them" {
  need_model
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 absent"
  head -2 models/data/tinystories-656k-dev.jsonl > "$TMP/t2.jsonl"
  cl-train --model "$MODEL" --init models/tinystories-656k-c2.gguf --rate 4 --max-segment 10 \
      --steps 1 --batch 2 -o "$TMP/c4.gguf" "$TMP/t2.jsonl"
  # the file records C=4 S=10 (cl-eval reads both from it)
  printf 'Once upon a time there was a very little girl named Lily who loved to play outside in the big green park.\n' > "$TMP/s.txt"
  run cl-eval --model "$MODEL" --compressor "$TMP/c4.gguf" --json "$TMP/e.json" "$TMP/s.txt"
  [ "$status" -eq 0 ]
  [[ "$output" == *"(C=4, S=10)"* ]]
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert (j["rate"], j["max_segment"]) == (4, 10), j' "$TMP/e.json"
  # training on from it without --rate keeps its C and S
  cl-train --model "$MODEL" --init "$TMP/c4.gguf" --steps 1 --batch 2 -o "$TMP/c4b.gguf" "$TMP/t2.jsonl"
  run cl-eval --model "$MODEL" --compressor "$TMP/c4b.gguf" "$TMP/s.txt"
  [[ "$output" == *"(C=4, S=10)"* ]]
  # --evaluate measures the file as it is: another rate or segment length is refused
  run cl-train --model "$MODEL" --evaluate --init "$TMP/c4.gguf" --rate 2 --dev "$TMP/t2.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"c4.gguf: compressor has C=4 S=10, not the --rate 2 --max-segment 10 asked for"* ]]
  run cl-train --model "$MODEL" --evaluate --init "$TMP/c4.gguf" --max-segment 20 --dev "$TMP/t2.jsonl"
  [ "$status" -eq 1 ]
  run cl-train --model "$MODEL" --evaluate --init "$TMP/c4.gguf" --rate 4 --max-segment 10 --dev "$TMP/t2.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"utility "* ]]
  # the adapter can't shrink or change its targets or alpha (a larger --rank grows it: next test)
  run cl-train --model "$MODEL" --init "$TMP/c4.gguf" --rank 4 --steps 1 -o "$TMP/x.gguf" "$TMP/t2.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"c4.gguf: has LoRA rank "*": --rank 4 can't shrink it"* ]]
  run cl-train --model "$MODEL" --init "$TMP/c4.gguf" --targets q,v --steps 1 -o "$TMP/x.gguf" "$TMP/t2.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"has LoRA targets q,k,v,o,gate,up,down: --targets can't change them"* ]]
  run cl-train --model "$MODEL" --init "$TMP/c4.gguf" --alpha 8 --steps 1 -o "$TMP/x.gguf" "$TMP/t2.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"c4.gguf: has LoRA rank "*", alpha "*": --alpha can't change it"* ]]
  [ ! -e "$TMP/x.gguf" ]
  # cl-compress: segments over S=10 refused; ceil(n/4) vectors per segment of at most 10 tokens
  cl-segment -m "$MODEL" -S 20 "$TMP/s.txt" > "$TMP/s20.jsonl"
  run cl-compress --model "$MODEL" --compressor "$TMP/c4.gguf" -o "$TMP/x.ce" "$TMP/s20.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the compressor takes at most 10"* ]]
  cl-segment -m "$MODEL" -S 10 "$TMP/s.txt" > "$TMP/s10.jsonl"
  cl-compress --model "$MODEL" --compressor "$TMP/c4.gguf" --stats -o "$TMP/x.ce" "$TMP/s10.jsonl" 2> "$TMP/st.json"
  /usr/bin/python3 - "$TMP/s10.jsonl" "$TMP/st.json" <<'PY'
import json, sys
lens = [len(json.loads(l)["ids"]) for l in open(sys.argv[1])]
st = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
assert max(lens) <= 10 and max(lens) > 4, lens
assert st["rate"] == 4 and st["vectors"] == sum((n + 3) // 4 for n in lens), (st, lens)
PY
}

@test "cl-train --init F --rank R grows the LoRA rank: the student starts exactly where F is" {
  need_model
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 absent"
  head -3 models/data/tinystories-656k-dev.jsonl > "$TMP/t3.jsonl"
  # F: a trained rank-8 adapter (B != 0), alpha 16
  F="$TMP/f8.gguf"
  cl-train --model "$MODEL" --steps 4 --batch 2 --lr 1e-2 --warmup 0 -o "$F" "$TMP/t3.jsonl"
  run cl-train --model "$MODEL" --evaluate --init "$F" --dev "$TMP/t3.jsonl"
  [ "$status" -eq 0 ]
  d0=$(printf '%s\n' "$output" | sed -n 's/^dev_loss //p')
  [ -n "$d0" ]
  # rank 8 -> 12 (alpha 16 -> 24: alpha/rank stays 2); --lr 0 keeps the grown start as the output
  run cl-train --model "$MODEL" --init "$F" --rank 12 --lr 0 --steps 1 --batch 2 --dev "$TMP/t3.jsonl" \
      -o "$TMP/g12.gguf" "$TMP/t3.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"step 0 dev loss $d0 (start)"* ]]
  printf 'Once upon a time there was a very little girl named Lily who loved to play outside in the big green park.\n' > "$TMP/s.txt"
  cl-eval --model "$MODEL" --compressor "$F" --json "$TMP/f.json" "$TMP/s.txt"
  cl-eval --model "$MODEL" --compressor "$TMP/g12.gguf" --json "$TMP/g.json" "$TMP/s.txt"
  /usr/bin/python3 - "$TMP/f.json" "$TMP/g.json" <<'PY'
import json, sys
f, g = (json.load(open(p)) for p in sys.argv[1:])
def ce(j):   # every number that depends on the CEs
    return {k: v for k, v in j.items() if isinstance(v, (int, float)) and not k.endswith("_s")}   # not timings
a, b = ce(f), ce(g)
assert a and a == b, [(k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)]
PY
  # the grown file is rank 12: a smaller rank is refused, and so is an alpha that changes the scale
  run cl-train --model "$MODEL" --init "$TMP/g12.gguf" --rank 8 --steps 1 -o "$TMP/x.gguf" "$TMP/t3.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"g12.gguf: has LoRA rank 12: --rank 8 can't shrink it"* ]]
  run cl-train --model "$MODEL" --init "$F" --rank 16 --alpha 16 --steps 1 -o "$TMP/x.gguf" "$TMP/t3.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"growing LoRA rank 8 (alpha 16) to 16 keeps the scale alpha/rank: alpha becomes 32, not --alpha 16"* ]]
  run cl-train --model "$MODEL" --evaluate --init "$F" --rank 12 --dev "$TMP/t3.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *"compressor has LoRA rank 8, not the --rank 12 asked for"* ]]
  [ ! -e "$TMP/x.gguf" ]
  # --rank 16 --alpha 32 is the same growth, said explicitly
  run cl-train --model "$MODEL" --init "$F" --rank 16 --alpha 32 --lr 0 --steps 1 --batch 2 --dev "$TMP/t3.jsonl" \
      -o "$TMP/g16.gguf" "$TMP/t3.jsonl"
  [ "$status" -eq 0 ]
  [[ "$output" == *"step 0 dev loss $d0 (start)"* ]]
}
