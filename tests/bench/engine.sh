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
exec "$TB/bench_engine" --ctx "${ENGINE_CTX:-512,2048,8192}" --decode "${ENGINE_DECODE:-4}" "${models[@]}"
