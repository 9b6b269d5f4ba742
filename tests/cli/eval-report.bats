#!/usr/bin/env bats
# make eval-report (tests/eval/report.sh): every compressor of the models directory gets its rows
# (C and S from the file), the baselines theirs, and the table's numbers are cl-eval's JSON.

load tiny_helper

setup() {
  tiny_setup eval-report
  mkdir -p "$TMP/models"
  export OPENBLAS_NUM_THREADS=1
}

@test "eval-report: rows for each compressor found, numbers from cl-eval's summaries" {
  need_model
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 absent"
  cl-compress --model "$MODEL" --init-compressor "$TMP/models/tinystories-656k-c4.gguf" --rate 4
  cl-compress --model "$MODEL" --init-compressor "$TMP/models/tinystories-656k-c2-s10.gguf" --max-segment 10
  touch "$TMP/models/other.gguf"
  export CL_MODEL="$MODEL"
  CL_BIN="$(dirname "$(command -v cl-eval)")" EVAL_MODELS="$TMP/models" EVAL_OUT="$TMP/out" EVAL_LIMIT=2 \
    EVAL_TRIALS=1 EVAL_LENGTHS=40 EVAL_DEPTHS=0,1 run tests/eval/report.sh
  [ "$status" -eq 0 ]
  [ -f "$TMP/out/quality.md" ]
  /usr/bin/python3 -c '
import json, sys
out = sys.argv[1]
rows = [l.split("|")[1:-1] for l in open(out + "/quality.md") if l.startswith("| ") and not l.startswith("| method")]
rows = [[c.strip() for c in r] for r in rows]
assert [(r[0], r[1], r[-1]) for r in rows] == [
    ("CompLLM CEs", "C=2 S=10", "c2-s10"), ("token-drop", "C=2 S=10", "c2-s10"), ("naive (mean)", "C=2 S=10", "c2-s10"),
    ("text", "-", "c2-s10"), ("no context", "-", "c2-s10"),
    ("CompLLM CEs", "C=4 S=20", "c4"), ("token-drop", "C=4 S=20", "c4"), ("naive (mean)", "C=4 S=20", "c4")], rows
f = json.load(open(out + "/fidelity-c4.json"))
n = json.load(open(out + "/needle-c4.json"))
assert f["rate"] == 4 and f["max_segment"] == 20 and f["examples"] == 2
r = rows[6]
assert abs(float(r[2]) - f["utility_drop"]) < 6e-4 and abs(float(r[5]) - n["recall_drop"]) < 6e-4, r
assert int(r[8]) == round(f["kv_drop_bytes"]) and float(r[7]) == round(f["kv_drop_positions"], 1), r
csv = open(out + "/needle-c4.csv").read().splitlines()
assert len(csv) == 3 and csv[0].startswith("length,depth,context_tokens,recall_ce,p_ce"), csv
' "$TMP/out"
}

@test "eval-report: no compressor is a one-line error" {
  EVAL_MODELS="$TMP/models" EVAL_OUT="$TMP/out" run tests/eval/report.sh
  [ "$status" -eq 1 ]
  [ "$output" = "eval-report: no compressor $TMP/models/tinystories-656k-c*.gguf" ]
}
