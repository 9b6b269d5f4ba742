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
md, where = open(out + "/quality.md").read().split("\n## Where the CEs lose what the text holds\n")
table = lambda text, head: [[c.strip() for c in l.split("|")[1:-1]] for l in text.splitlines()
                            if l.startswith("| ") and not l.startswith(head)]
rows = table(md, "| method")
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
# where the CEs lose: one row per compressor; G per token is NLL(CEs) - NLL(text), the four
# position shares add up to 100% (rounded)
loss = table(where, "| file")
assert [(r[0], r[1]) for r in loss] == [("c2-s10", "C=2 S=10"), ("c4", "C=4 S=20")], loss
for r in loss:
    g = json.load(open(out + "/fidelity-%s.json" % r[0]))
    assert abs(float(r[2]) - (g["nll_ce"] - g["nll_text"])) < 1e-3, (r, g["nll_ce"], g["nll_text"])
    assert abs(sum(float(c.rstrip("%")) for c in r[3:7]) - 100) <= 2, r
    assert 0 < float(r[7].rstrip("%")) <= 100, r
csv = open(out + "/needle-c4.csv").read().splitlines()
assert len(csv) == 3 and csv[0].startswith("length,depth,context_tokens,recall_ce,p_ce"), csv
' "$TMP/out"
}

@test "eval-report: no compressor is a one-line error" {
  EVAL_MODELS="$TMP/models" EVAL_OUT="$TMP/out" run tests/eval/report.sh
  [ "$status" -eq 1 ]
  [ "$output" = "eval-report: no compressor $TMP/models/tinystories-656k-c*.gguf" ]
}
