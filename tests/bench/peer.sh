#!/usr/bin/env bash
# Peer comparison: our engine (tests/bin/bench_gguf) against llama.cpp (npm node-llama-cpp 3.21.1,
# its prebuilt CPU backend, flash attention on; installed here into tests/bench/node_modules by
# this script, never by `make test`) on the same GGUF files and token ids, THREADS threads each.
# Models: random weights of real shapes (SmolLM2-135M, Qwen3-0.6B) made by `cl-model random`
# with the shared SmolLM2 tokenizer padded to the vocabulary, so llama.cpp loads them too; speed
# does not depend on weight values.  Runs are interleaved (ours, peer, ours, peer, ...) REPEAT
# times: best, min and max per figure, the ratio of the bests, max RSS of each process (the whole
# run, i.e. at the longest prefill), the machine's read bandwidth measured in the same run and each
# decode figure as a fraction of its ceiling (bandwidth / weight bytes per token).
# Settings (environment): PEER_MODELS "smollm2-135m qwen3-0.6b", PEER_DTYPES "f32 bf16 q8_0 q4_K_M",
# PEER_PREFILL 512,2048,4096, PEER_DECODE 16, PEER_REPEAT 3, PEER_THREADS 2.
set -u
cd "$(dirname "$0")/../.."
TB=${CL_TBIN:-tests/bin}
SHARED=${CL_SHARED:-../shared}
OUT=tests/bench/out/peer
MODELS=${PEER_MODELS:-smollm2-135m qwen3-0.6b}
DTYPES=${PEER_DTYPES:-f32 bf16 q8_0 q4_K_M}
PREFILL=${PEER_PREFILL:-512,2048,4096}
DECODE=${PEER_DECODE:-16}
REPEAT=${PEER_REPEAT:-3}
THREADS=${PEER_THREADS:-2}
mkdir -p "$OUT"
make -s "$TB/bench_gguf" bin/cl-model || exit 1
if [ ! -d tests/bench/node_modules/node-llama-cpp ]; then
  (cd tests/bench && npm install --no-audit --no-fund --silent) || { echo "peer: npm could not install node-llama-cpp"; exit 1; }
fi
(cd tests/bench && node -e 'import("node-llama-cpp").then(async m => { const l = await m.getLlama({gpu: false, build: "never", logLevel: "error"}); console.log("llama.cpp prebuilt CPU backend loads:", l.systemInfo.trim()); })') ||
  { echo "peer: the prebuilt llama.cpp CPU backend does not load here"; exit 1; }
config() {
  case $1 in
    smollm2-135m) echo "$SHARED/tokenizers/smollm2-135m-instruct/config.json" ;;
    qwen3-0.6b) echo tests/data/qwen3-0.6b-config.json ;;
    *) echo "peer: unknown model $1" >&2; return 1 ;;
  esac
}
bw=$(OPENBLAS_NUM_THREADS=$THREADS "$TB/bench_gguf" --threads "$THREADS" --bandwidth | awk '{print $3}')
echo "read bandwidth ($THREADS threads, best of 5 x 1 GiB): $bw GB/s"
echo
echo "| shape | dtype | figure | ours tok/s (min-max) | llama.cpp tok/s (min-max) | ours/llama.cpp |"
echo "|---|---|---|---|---|---|"
rc=0
for name in $MODELS; do
  cfg=$(config "$name") || { rc=1; continue; }
  [ -f "$cfg" ] || { echo "| $name | | config $cfg absent | | | |"; continue; }
  V=$(grep -o '"vocab_size": *[0-9]*' "$cfg" | grep -o '[0-9]*$')
  for dt in $DTYPES; do
    m="$OUT/$name-$dt.gguf"
    [ -f "$m" ] || bin/cl-model random --config "$cfg" --dtype "$dt" --out "$m" || { rc=1; continue; }
    log="$OUT/$name-$dt.log"
    : > "$log"
    for r in $(seq "$REPEAT"); do
      /usr/bin/time -f "maxrss %M" -o "$OUT/rss" env OPENBLAS_NUM_THREADS="$THREADS" "$TB/bench_gguf" --threads "$THREADS" \
        --prefill "$PREFILL" --decode "$DECODE" --repeat 1 "$m" | sed 's/^/ours /' >> "$log" || rc=1
      sed 's/^/ours /' "$OUT/rss" >> "$log"
      /usr/bin/time -f "maxrss %M" -o "$OUT/rss" node tests/bench/peer.mjs "$m" "$PREFILL" "$DECODE" "$THREADS" "$V" |
        sed 's/^/peer /' >> "$log" || rc=1
      sed 's/^/peer /' "$OUT/rss" >> "$log"
    done
    grep -m1 "^ours model" "$log" | sed "s/^ours model/# ours: model/"
    grep -m1 "^peer llama.cpp" "$log" | sed "s/^peer /# peer: /" | cut -c1-160
    awk -v name="$name" -v dt="$dt" -v bw="$bw" '
      function add(e, k, v) { key = e SUBSEP k; if (!(key in best) || v > best[key]) best[key] = v;
                              if (!(key in lo) || v < lo[key]) lo[key] = v; if (!(k in seen)) { seen[k] = 1; order[n++] = k } }
      $1 == "ours" && $2 == "model" { for (i = 1; i <= NF; i++) if ($i == "MiB") mib = $(i - 1) }
      ($2 == "prefill" || $2 == "decode") { k = $2 == "prefill" ? "prefill " $3 : "decode after " $4;
                                            v = $2 == "prefill" ? $4 : $5; sub(":", "", k); add($1, k, v) }
      $2 == "maxrss" { if ($3 > rss[$1]) rss[$1] = $3 }
      END {
        for (i = 0; i < n; i++) { k = order[i]; o = ("ours" SUBSEP k); p = ("peer" SUBSEP k)
          extra = ""
          if (k ~ /^decode/ && mib > 0) { ceil = bw * 1e9 / (mib * 1048576); extra = sprintf(" (ours %.0f%% of the %.0f tok/s ceiling)", 100 * best[o] / ceil, ceil) }
          printf "| %s | %s | %s | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.2fx%s |\n", name, dt, k, best[o], lo[o], best[o], best[p], lo[p], best[p],
                 (best[p] > 0 ? best[o] / best[p] : 0), extra }
        printf "| %s | %s | max RSS | %.0f MiB | %.0f MiB | %.2fx |\n", name, dt, rss["ours"] / 1024, rss["peer"] / 1024,
               (rss["peer"] > 0 ? rss["ours"] / rss["peer"] : 0)
      }' "$log"
  done
done
echo "(machine shared: figures are best of $REPEAT interleaved runs; min-max show the noise)"
exit $rc
