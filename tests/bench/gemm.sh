#!/usr/bin/env bash
# The compressor's fixed-order product (lib/gemm_fixed.c) against OpenBLAS's sgemm, on the
# shapes of a compression batch; with OPENBLAS_CORETYPE set, also OpenBLAS's own choice for the CPU.
set -u
cd "$(dirname "$0")/../.."
TB=${CL_TBIN:-tests/bin}
[ -x "$TB/bench_gemm" ] || make -s "$TB/bench_gemm" || exit 1
"$TB/bench_gemm" || exit 1
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "-- without OPENBLAS_CORETYPE:"
  env -u OPENBLAS_CORETYPE "$TB/bench_gemm"
fi
