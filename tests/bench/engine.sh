#!/usr/bin/env bash
# Engine speed: cl_forward prefill and decode at 512 / 2k / 8k positions on random-weight models
# of real shapes (speed does not depend on weight values), with the sgemm peak of the same run.
set -u
cd "$(dirname "$0")/../.."
TB=${CL_TBIN:-tests/bin}
SHARED=${CL_SHARED:-../shared}
[ -x "$TB/bench_engine" ] || make -s "$TB/bench_engine" || exit 1
models=()
[ -f "$SHARED/tokenizers/smollm2-135m-instruct/config.json" ] &&
  models+=("smollm2-135m=$SHARED/tokenizers/smollm2-135m-instruct/config.json")
models+=("qwen3-0.6b=tests/data/qwen3-0.6b-config.json")
"$TB/bench_engine" --ctx "${ENGINE_CTX:-512,2048,8192}" --decode "${ENGINE_DECODE:-4}" "${models[@]}" || exit 1
# OPENBLAS_CORETYPE in the environment forces a kernel family (these machines set Haswell, AVX2):
# show OpenBLAS's own choice for this CPU too, on the first model at short contexts.
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "-- the same without OPENBLAS_CORETYPE (OpenBLAS picks the kernels for this CPU):"
  env -u OPENBLAS_CORETYPE "$TB/bench_engine" --ctx 512,2048 --decode "${ENGINE_DECODE:-4}" "${models[0]}"
fi
