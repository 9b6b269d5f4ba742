#!/usr/bin/env bash
# Benchmark: time to first token (TTFT), uncompressed vs compressed (compression included, and
# with a warm segment cache), KV bytes, compression tokens/s and prefill GFLOP/s against context
# length (tests/bench/bench_ttft.c).  Writes tests/bench/out/ttft.csv and ttft.png (gnuplot).
#
# Models: random-weight models of real shapes (SmolLM2-135M, Qwen3-0.6B: speed does not depend
# on weight values) with an untrained compressor of cl-train's default shape, and the default
# story model (trained weights) with its shipped compressor models/tinystories-656k-c2.gguf
# (untrained when absent).  Default lengths keep the run near 10 minutes on 2 shared cores:
#   BENCH_TINY_CTX  (1k..32k)  BENCH_SMOL_CTX (1k..8k)  BENCH_QWEN_CTX (1k, 2k)
# BENCH_MAX_CTX drops longer lengths from all three; BENCH_THREADS sets BLAS threads.
# A full sweep: BENCH_SMOL_CTX=1024,2048,4096,8192,16384,32768 tests/bench/ttft.sh
set -u
cd "$(dirname "$0")/../.."
TB=${CL_TBIN:-tests/bin}
SHARED=${CL_SHARED:-../shared}
OUT=${BENCH_OUT:-tests/bench/out}
[ -x "$TB/bench_ttft" ] || make -s "$TB/bench_ttft" || exit 1
mkdir -p "$OUT"
cap() {   # drop lengths above BENCH_MAX_CTX
  local max=${BENCH_MAX_CTX:-0} out="" l
  for l in ${1//,/ }; do
    if [ "$max" -eq 0 ] || [ "$l" -le "$max" ]; then out="$out${out:+,}$l"; fi
  done
  echo "$out"
}
tiny=$(cap "${BENCH_TINY_CTX:-1024,2048,4096,8192,16384,32768}")
smol=$(cap "${BENCH_SMOL_CTX:-1024,2048,4096,8192}")
qwen=$(cap "${BENCH_QWEN_CTX:-1024,2048}")
csvs=()
one() {   # NAME LENGTHS SPEC
  [ -n "$2" ] || return 0
  "$TB/bench_ttft" --threads "${BENCH_THREADS:-0}" --ctx "$2" --csv "$OUT/ttft-$1.csv" "$1=$3" || return 1
  csvs+=("$OUT/ttft-$1.csv")
}
rc=0
if [ -d "$SHARED/models/tinystories-656k" ]; then
  one tinystories-656k "$tiny" "@$SHARED/models/tinystories-656k:models/tinystories-656k-c2.gguf" || rc=1
fi
if [ -f "$SHARED/tokenizers/smollm2-135m-instruct/config.json" ]; then
  one smollm2-135m "$smol" "$SHARED/tokenizers/smollm2-135m-instruct/config.json" || rc=1
fi
one qwen3-0.6b "$qwen" tests/data/qwen3-0.6b-config.json || rc=1
[ ${#csvs[@]} -gt 0 ] || exit $rc
{ head -1 "${csvs[0]}"; for f in "${csvs[@]}"; do tail -n +2 "$f"; done; } > "$OUT/ttft.csv"
rm -f "${csvs[@]}"
echo "wrote $OUT/ttft.csv"
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "csv='$OUT/ttft.csv'; out='$OUT/ttft.png'" tests/bench/ttft.gp && echo "wrote $OUT/ttft.png"
else
  echo "gnuplot absent: no plot"
fi
exit $rc
