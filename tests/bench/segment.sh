#!/usr/bin/env bash
# Benchmark: cl-segment on ~10 MB of English text (the repo's test texts repeated), default model
# and limit.  Prints MB/s and segments/s.  Usage: tests/bench/segment.sh [MB]
set -eu
cd "$(dirname "$0")/../.."
MB=${1:-10}
BIN=${CL_BIN:-bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 $((MB * 1000000 / $(cat tests/data/segment-en.txt tests/data/segment-urls.txt | wc -c) + 1))); do
  cat tests/data/segment-en.txt; echo; cat tests/data/segment-urls.txt
done | head -c $((MB * 1000000)) > "$tmp/in.txt"
bytes=$(wc -c < "$tmp/in.txt")
t0=$(date +%s.%N)
"$BIN/cl-segment" "$tmp/in.txt" > "$tmp/out.jsonl"
t1=$(date +%s.%N)
segs=$(wc -l < "$tmp/out.jsonl")
awk -v b="$bytes" -v s="$segs" -v t0="$t0" -v t1="$t1" 'BEGIN {
  t = t1 - t0; printf "cl-segment: %.1f MB in %.2f s: %.1f MB/s, %d segments (%.0f/s), S=20, tinystories-656k tokenizer\n",
  b / 1e6, t, b / 1e6 / t, s, s / t }'
