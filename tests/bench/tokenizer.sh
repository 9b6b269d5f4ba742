#!/usr/bin/env bash
# Benchmark: tokenizer encoding speed (MB/s) on ~4 MB of English text (the repo's test texts
# repeated), one encode call per tokenizer.  Usage: tests/bench/tokenizer.sh [MB]
set -eu
cd "$(dirname "$0")/../.."
MB=${1:-4}
S=${CL_SHARED:-../shared}
make -s build/libcl.a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -Ilib -o "$tmp/bench" tests/bench/bench_tokenizer.c build/libcl.a \
  $(pkg-config --libs openblas icu-uc icu-i18n libpcre2-8 jansson libcurl) -lm -pthread
for i in $(seq 1 $((MB * 1000000 / $(cat tests/data/segment-en.txt | wc -c) + 1))); do
  cat tests/data/segment-en.txt
done | head -c $((MB * 1000000)) > "$tmp/in.txt"
toks=""
for p in models/tinystories-656k/tokenizer.json tokenizers/smollm2-135m-instruct/tokenizer.json \
         tokenizers/gpt2/tokenizer.json tokenizers/llama2/tokenizer.bin; do
  [ -f "$S/$p" ] && toks="$toks $S/$p"
done
"$tmp/bench" "$tmp/in.txt" $toks
