#!/usr/bin/env bash
# Benchmark: cl-compress throughput on the default model (tinystories-656k) with an untrained
# compressor (speed does not depend on the weights' values), for 1k..64k input tokens: per-token
# time should stay flat (each segment costs the same whatever the document's length), then the
# same 64k-token input again with a warm segment cache.  Times are cl-compress's own --stats
# (model loading excluded).  Usage: tests/bench/compress.sh [THREADS]
set -eu
cd "$(dirname "$0")/../.."
BIN=${CL_BIN:-bin}
THREADS=${1:-${OPENBLAS_NUM_THREADS:-1}}
MODEL=${CL_MODEL:-../shared/models/tinystories-656k}
[ -d "$MODEL" ] || { echo "compress bench: $MODEL absent, skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN/cl-compress" --model "$MODEL" --init-compressor "$tmp/k.gguf"
# Distinct sentences (so the warm-cache run is the only one that can hit): numbered variations
# of the demo story, segmented once; then the first N tokens' worth of segments per size.
for i in $(seq 1 400); do sed "s/Lily/Lily $i/g; s/Max/Max $((i * 7))/g" tests/data/demo-story.txt; done > "$tmp/doc.txt"
"$BIN/cl-segment" --model "$MODEL" "$tmp/doc.txt" > "$tmp/all.jsonl"
stat() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2"; }
printf '%-8s %-9s %-9s %-10s %-12s %s\n' tokens segments seconds tokens/s us/token "(threads $THREADS)"
for k in 1 4 16 64; do
  awk -v want=$((k * 1000)) '{ match($0, /"ids":\[[^]]*\]/); n = split(substr($0, RSTART + 7, RLENGTH - 8), a, ",");
       t += n; print; if (t >= want) exit }' "$tmp/all.jsonl" > "$tmp/in.jsonl"
  "$BIN/cl-compress" --model "$MODEL" --compressor "$tmp/k.gguf" --threads "$THREADS" --stats \
      -o "$tmp/out.ce" "$tmp/in.jsonl" 2> "$tmp/stats"
  awk -v t="$(stat tokens "$tmp/stats")" -v s="$(stat segments "$tmp/stats")" -v sec="$(stat seconds "$tmp/stats")" \
      'BEGIN { printf "%-8d %-9d %-9.3f %-10.0f %-12.2f\n", t, s, sec, t / sec, 1e6 * sec / t }'
done
"$BIN/cl-compress" --model "$MODEL" --compressor "$tmp/k.gguf" --threads "$THREADS" --cache "$tmp/cache" \
    -o "$tmp/cold.ce" "$tmp/in.jsonl"
"$BIN/cl-compress" --model "$MODEL" --compressor "$tmp/k.gguf" --threads "$THREADS" --cache "$tmp/cache" --stats \
    -o "$tmp/warm.ce" "$tmp/in.jsonl" 2> "$tmp/stats"
cmp -s "$tmp/cold.ce" "$tmp/warm.ce" || echo "warm-cache output differs!"
awk -v t="$(stat tokens "$tmp/stats")" -v h="$(stat cache_hits "$tmp/stats")" -v s="$(stat segments "$tmp/stats")" \
    -v sec="$(stat seconds "$tmp/stats")" \
    'BEGIN { printf "warm cache: %d tokens, %d/%d segments hit, %.3f s: %.0f tokens/s, %.2f us/token\n", t, h, s, sec, t / sec, 1e6 * sec / t }'
