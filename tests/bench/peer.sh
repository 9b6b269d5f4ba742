#!/usr/bin/env bash
# Peer comparison (issue 13's table): our engine (tests/bin/bench_gguf) against llama.cpp (npm
# node-llama-cpp 3.21.1, its prebuilt CPU backend; installed here into tests/bench/node_modules by
# this script, never by `make test`) on the same GGUF files and token ids, THREADS threads each.
# Models: random weights of real shapes (SmolLM2-135M, Qwen3-0.6B) made by `cl-model random`
# with the shared SmolLM2 tokenizer padded to the vocabulary, so llama.cpp loads them too (speed
# does not depend on weight values); nothing is downloaded.  They are kept in tests/bench/out/peer
# and made again whenever bin/cl-model is newer.
#
# Per shape and dtype, REPEAT interleaved rounds (ours, llama.cpp, ours, llama.cpp, ...), each one
# process per engine: an untimed warm-up, then prefill of every length from an empty cache, then
# DECODE steps after the first length.  Prefill lengths >= LONG run in the first REPEAT_LONG rounds
# only (they dominate the time).  Best, min and max per figure, ratio of the bests, max RSS of each
# process (the round with the longest prefill), the read bandwidth measured at the start and the end
# of the run, and each decode figure as a fraction of its ceiling: best bandwidth / bytes read per
# decoded token (every weight matrix incl. the lm_head, plus the KV cache at that position).
# Fairness: same files (mmap'ed by both), same token ids, same context, both KV caches f16,
# llama.cpp's n_batch = n_ubatch = our prefill span (SPAN_ROWS in lib/forward.c) so a long prompt
# goes through both in chunks of the same size, flash attention on in llama.cpp, both processes
# pinned to the same THREADS cpus (taskset) with THREADS threads.  peer.mjs states what llama.cpp
# reports for each of these.
#
# Writes OUT/peer.txt (everything printed), OUT/peer.md (the tables, ready for the README),
# OUT/peer.csv (one line per figure) and OUT/peer.png (gnuplot, when installed).
# Settings (environment), defaults for about 20-25 minutes on an idle 2-core Zen4:
#   PEER_MODELS "smollm2-135m qwen3-0.6b"  PEER_DTYPES "f32 bf16 q8_0 q4_K_M"
#   PEER_PREFILL 512,2048,4096  PEER_DECODE 32  PEER_REPEAT 2  PEER_REPEAT_LONG 1  PEER_LONG 4096
#   PEER_THREADS 2  PEER_BATCH (our span)  PEER_OUT tests/bench/out  PEER_MODEL_DIR tests/bench/out/peer
#   PEER_README FILE: also paste peer.md between FILE's "<!-- peer.md begin" and "<!-- peer.md end -->" lines
# The issue's best of 3: PEER_REPEAT=3 PEER_REPEAT_LONG=3 (about an hour).
set -u
{   # the whole script is one compound command: bash reads all of it before running, so editing or
    # merging this file during a 25-minute run cannot change the run
cd "$(dirname "$0")/../.."
TB=${CL_TBIN:-tests/bin}
SHARED=${CL_SHARED:-../shared}
OUT=${PEER_OUT:-tests/bench/out}
MDIR=${PEER_MODEL_DIR:-tests/bench/out/peer}
MODELS=${PEER_MODELS:-smollm2-135m qwen3-0.6b}
DTYPES=${PEER_DTYPES:-f32 bf16 q8_0 q4_K_M}
PREFILL=${PEER_PREFILL:-512,2048,4096}
DECODE=${PEER_DECODE:-32}
REPEAT=${PEER_REPEAT:-2}
REPEAT_LONG=${PEER_REPEAT_LONG:-1}
LONG=${PEER_LONG:-4096}
THREADS=${PEER_THREADS:-2}
span=$(sed -n 's/^enum { SPAN_ROWS = \([0-9]*\) };.*/\1/p' lib/forward.c)
[ -n "$span" ] || echo "peer: SPAN_ROWS not found in lib/forward.c: llama.cpp's batch is 512 (PEER_BATCH sets it)" >&2
BATCH=${PEER_BATCH:-${span:-512}}
mkdir -p "$OUT" "$MDIR" || exit 1
make -s "$TB/bench_gguf" bin/cl-model || exit 1
pinned=$(sed -n 's/.*"node-llama-cpp": "\(.*\)".*/\1/p' tests/bench/package.json)
have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' tests/bench/node_modules/node-llama-cpp/package.json 2>/dev/null)
if [ "$have" != "$pinned" ]; then
  (cd tests/bench && npm install --no-audit --no-fund --silent) || { echo "peer: npm could not install node-llama-cpp" >&2; exit 1; }
fi
pin=()   # both engines on cpus 0..THREADS-1
if command -v taskset >/dev/null && [ "$THREADS" -le "$(nproc)" ]; then pin=(taskset -c "0-$((THREADS - 1))"); fi
t0=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
exec > >(tee "$OUT/peer.txt") 2>&1
tee_pid=$!

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
bandwidth() { OPENBLAS_NUM_THREADS=$THREADS "${pin[@]}" "$TB/bench_gguf" --threads "$THREADS" --bandwidth | awk '{print $3}'; }
config() {
  case $1 in
    smollm2-135m) echo "$SHARED/tokenizers/smollm2-135m-instruct/config.json" ;;
    qwen3-0.6b) echo tests/data/qwen3-0.6b-config.json ;;
    *) echo "peer: unknown model $1 (smollm2-135m, qwen3-0.6b are known)" >&2; return 1 ;;
  esac
}
prefills() {   # the lengths round $1 runs
  local out="" l
  for l in ${PREFILL//,/ }; do
    if [ "$1" -le "$REPEAT_LONG" ] || [ "$l" -lt "$LONG" ]; then out="$out${out:+,}$l"; fi
  done
  echo "$out"
}

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) ($(grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16' /proc/cpuinfo | sort -u | paste -sd' '))"
cpu="$cpu, $(nproc) cpus, $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
echo "# tests/bench/peer.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, load average $load0"
settings="PEER_MODELS='$MODELS' PEER_DTYPES='$DTYPES' PEER_PREFILL=$PREFILL PEER_DECODE=$DECODE PEER_REPEAT=$REPEAT"
settings="$settings PEER_REPEAT_LONG=$REPEAT_LONG PEER_LONG=$LONG PEER_THREADS=$THREADS PEER_BATCH=$BATCH"
echo "# $settings"
base=$(cd tests/bench && { /usr/bin/time -f "maxrss %M" node -e 'import("node-llama-cpp").then(async m => {
  const l = await m.getLlama({gpu: false, build: "never", logLevel: "error"});
  console.log("llama.cpp prebuilt CPU backend loads:", l.systemInfo.trim()); })' ; } 2>&1) ||
  { echo "peer: the prebuilt llama.cpp CPU backend does not load here: $base"; exit 1; }
echo "$base" | grep -v '^maxrss'
node_mib=$(echo "$base" | awk '/^maxrss/ {printf "%.0f", $2 / 1024}')
echo "node + node-llama-cpp without a model: $node_mib MiB max RSS (part of llama.cpp's figures below)"
bw0=$(bandwidth)
echo "read bandwidth at the start ($THREADS threads, best of 9 x 1 GiB): $bw0 GB/s"

csv="$OUT/peer.csv"
summarise() {   # peer.csv and peer.md from the logs so far; $1: the end bandwidth (or "-")
  local end=$1 bw l kern peer
  bw=$(echo "$bw0 $end" | awk '{print ($2 != "-" && $2 > $1 ? $2 : $1)}')
  echo "shape,dtype,figure,ctx,n,ours,ours_min,ours_max,peer,peer_min,peer_max,ratio,mib_per_token,ceiling,ours_frac,peer_frac" > "$csv"
  for l in "${logs[@]}"; do
    set -- $l
    awk -v shape="$1" -v dt="$2" -v bw="$bw" -f tests/bench/peer_rows.awk "$3" >> "$csv" || rc=1
  done
  kern=$(for l in "${logs[@]}"; do grep -m1 '^ours kernels: ' "${l##* }"; done | sort -u | sed 's/^ours kernels: //' | paste -sd';')
  peer=$(for l in "${logs[@]}"; do grep -m1 '^peer llama.cpp' "${l##* }"; done | head -1 |
         sed 's/^peer llama.cpp //; s/: vocab [0-9]*,/:/; s/, context [0-9]*,/,/')
  awk -F, -f tests/bench/peer_md.awk -v date="$(date -u -d "@$t0" '+%Y-%m-%d %H:%M')-$(date -u '+%H:%M UTC')" -v cpu="$cpu" \
    -v load0="$load0" -v load1="$(loadavg)" -v bw0="$bw0" -v bw1="$end" -v settings="$settings" \
    -v threads="$THREADS" -v minutes="$(( ($(date +%s) - t0 + 59) / 60 ))" -v kernels="$kern" -v peer="$peer" \
    -v node_mib="$node_mib" -v batch="$BATCH" -v decode="$DECODE" "$csv" > "$OUT/peer.md" || rc=1
}

rc=0
logs=()
for name in $MODELS; do
  cfg=$(config "$name") || { rc=1; continue; }
  [ -f "$cfg" ] || { echo "peer: config $cfg absent: $name skipped"; rc=1; continue; }
  for dt in $DTYPES; do
    m="$MDIR/$name-$dt.gguf"
    if [ ! -f "$m" ] || [ bin/cl-model -nt "$m" ]; then
      bin/cl-model random --config "$cfg" --dtype "$dt" --out "$m" || { rc=1; continue; }
    fi
    log="$MDIR/$name-$dt.log"
    : > "$log"
    V=""
    for r in $(seq "$REPEAT"); do
      pre=$(prefills "$r")
      [ -n "$pre" ] || continue
      /usr/bin/time -f "maxrss %M" -o "$MDIR/rss" env OPENBLAS_NUM_THREADS="$THREADS" "${pin[@]}" "$TB/bench_gguf" \
        --threads "$THREADS" --prefill "$pre" --decode "$DECODE" --repeat 1 "$m" | sed 's/^/ours /' >> "$log" || rc=1
      sed 's/^/ours /' "$MDIR/rss" >> "$log"
      [ -n "$V" ] || V=$(sed -n 's/^ours model .*: vocab \([0-9]*\),.*/\1/p' "$log" | head -1)
      [ -n "$V" ] || { echo "peer: bench_gguf failed on $m"; rc=1; break; }
      /usr/bin/time -f "maxrss %M" -o "$MDIR/rss" "${pin[@]}" node tests/bench/peer.mjs "$m" "$pre" "$DECODE" "$THREADS" "$V" "$BATCH" |
        sed 's/^/peer /' >> "$log" || rc=1
      sed 's/^/peer /' "$MDIR/rss" >> "$log"
    done
    echo "## $name $dt ($m)"
    grep -m1 '^ours model' "$log" | sed 's/^ours /ours: /'
    grep -m1 '^ours kernels' "$log" | sed 's/^ours /ours /'
    grep -m1 '^ours read per' "$log" | sed 's/^ours /ours: /'
    grep -m1 '^peer llama.cpp' "$log" | sed 's/^peer /peer: /'
    logs+=("$name $dt $log")
    summarise -   # so far, in case the run is cut short
  done
done
bw1=$(bandwidth)
echo "read bandwidth at the end: $bw1 GB/s"
summarise "$bw1"
echo
cat "$OUT/peer.md"
if [ -n "${PEER_README:-}" ]; then   # paste peer.md between the README's markers
  grep -q '^<!-- peer.md end -->' "$PEER_README" &&
    sed -i -e '/^<!-- peer.md begin/,/^<!-- peer.md end -->/{//!d}' -e "/^<!-- peer.md begin/r $OUT/peer.md" "$PEER_README" &&
    echo "pasted $OUT/peer.md into $PEER_README" || { echo "peer: no peer.md markers in $PEER_README"; rc=1; }
fi
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "csv='$csv'; out='$OUT/peer.png'; shapes='$MODELS'; dtypes='$DTYPES'" \
    -e "title='ours (solid) vs llama.cpp (dashed), $THREADS threads each, random weights of real shapes, $(date -u +%Y-%m-%d)'" \
    tests/bench/peer.gp && echo "wrote $OUT/peer.png" || rc=1
else
  echo "gnuplot absent: no plot"
fi
echo "wrote $OUT/peer.txt, $OUT/peer.md, $csv ($(( ($(date +%s) - t0 + 30) / 60 )) minutes)"
exec >&- 2>&-
wait "$tee_pid"
exit $rc
}
