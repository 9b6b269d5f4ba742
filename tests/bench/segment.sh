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
# wall time, and CPU time (user+sys, from bash's `times`): on a shared machine the latter is the
# meaningful one
t0=$(date +%s.%N)
cpu=$( { "$BIN/cl-segment" "$tmp/in.txt" > "$tmp/out.jsonl"; times; } | tail -1)
t1=$(date +%s.%N)
segs=$(wc -l < "$tmp/out.jsonl")
awk -v b="$bytes" -v s="$segs" -v t0="$t0" -v t1="$t1" -v cpu="$cpu" 'BEGIN {
  split(cpu, c, /[ ms]+/); u = c[1] * 60 + c[2] + c[3] * 60 + c[4]; t = t1 - t0
  printf "cl-segment: %.1f MB, %d segments, S=20, tinystories-656k tokenizer: %.2f s wall (%.1f MB/s), %.2f s CPU (%.1f MB/s)\n",
  b / 1e6, s, t, b / 1e6 / t, u, b / 1e6 / u }'
