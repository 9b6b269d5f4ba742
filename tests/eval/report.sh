#!/usr/bin/env bash
# make eval-report: cl-eval over every compressor in models/ (tinystories-656k-c{C}[-s{S}].gguf;
# C and S are read from each file by cl-eval) plus the baselines at each one's rate, and writes
# docs/eval/: quality.md (method x rate table), fidelity-*.json, needle-*.json, needle-*.csv and
# needle-*.png (recall and p(needle) heat maps, gnuplot); *.txt: what cl-eval printed.  Defaults take a few minutes on 2 shared cores:
#   EVAL_LIMIT    fidelity examples from the dev set (default 64; 200 = all of it)
#   EVAL_TRIALS   needle trials per depth x length cell (default 8)
#   EVAL_LENGTHS  needle context lengths (default: cl-eval's, 1/8 .. all of the model's context)
#   EVAL_DEPTHS   needle depths (default 0,0.25,0.5,0.75,1)
#   EVAL_OUT      output directory (default docs/eval)
#   EVAL_MODELS   where the compressors are (default models)
set -u
cd "$(dirname "$0")/../.."
BIN=${CL_BIN:-bin}
OUT=${EVAL_OUT:-docs/eval}
DEV=models/data/tinystories-656k-dev.jsonl
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
[ -x "$BIN/cl-eval" ] || make -s "$BIN/cl-eval" || exit 1
mkdir -p "$OUT"
MODELS=${EVAL_MODELS:-models}
comps=$(ls "$MODELS"/tinystories-656k-c*.gguf 2>/dev/null | sort -V)
[ -n "$comps" ] || { echo "eval-report: no compressor $MODELS/tinystories-656k-c*.gguf" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
needle_args=(--limit "${EVAL_TRIALS:-8}" --depths "${EVAL_DEPTHS:-0,0.25,0.5,0.75,1}")
[ -n "${EVAL_LENGTHS:-}" ] && needle_args+=(--context-tokens "$EVAL_LENGTHS")
# every example's per-token NLLs (cl-eval --answers), for table.py's "where it is lost"; not kept
EX=$(mktemp -d) || exit 1
trap 'rm -rf "$EX"' EXIT
start=$(date +%s)
rc=0
rm -f "$OUT"/fidelity-* "$OUT"/needle-*
for c in $comps; do
  name=$(basename "$c" .gguf)
  name=${name#tinystories-656k-}
  echo "eval-report: $c" >&2
  "$BIN/cl-eval" --compressor "$c" --data "$DEV" --limit "${EVAL_LIMIT:-64}" \
      --json "$OUT/fidelity-$name.json" --answers "$EX/fidelity-$name.jsonl" > "$OUT/fidelity-$name.txt" || { rc=1; continue; }
  "$BIN/cl-eval" --mode needle --compressor "$c" --data "$DEV" "${needle_args[@]}" \
      --json "$OUT/needle-$name.json" > "$OUT/needle-$name.txt" || { rc=1; continue; }
done
secs=$(( $(date +%s) - start ))
"$PY" tests/eval/table.py "$OUT" "$secs" "$EX" > "$OUT/quality.md.tmp" && mv "$OUT/quality.md.tmp" "$OUT/quality.md" || rc=1
if command -v gnuplot > /dev/null; then
  for csv in "$OUT"/needle-*.csv; do
    [ -f "$csv" ] && { gnuplot -e "csv='$csv'; out='${csv%.csv}.png'" tests/eval/needle.gp || rc=1; }
  done
else
  echo "eval-report: gnuplot not found, no heat maps" >&2
fi
cat "$OUT/quality.md"
echo "eval-report: ${secs}s of evaluation, written to $OUT" >&2
exit $rc
