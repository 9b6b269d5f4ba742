#!/usr/bin/env bats
# The table tooling of the llama.cpp comparison (tests/bench/peer.sh, run by `make bench`, never
# here): a two-round log (tests/data/peer-log.txt, prefill 4096 in the first round only) through
# peer_rows.awk -> CSV and peer_md.awk -> markdown.  Best = highest tok/s, min-max over the rounds,
# ratio of the bests, largest max RSS, the decode ceiling = bandwidth / (weights + KV bytes).

setup() {
  TMP="${CL_TMP:-tests/tmp}/bench-peer.$$"
  mkdir -p "$TMP"
  echo "shape,dtype,figure,ctx,n,ours,ours_min,ours_max,peer,peer_min,peer_max,ratio,mib_per_token,ceiling,ours_frac,peer_frac" > "$TMP/peer.csv"
  awk -v shape=smollm2-135m -v dt=q8_0 -v bw=13.5 -f tests/bench/peer_rows.awk tests/data/peer-log.txt >> "$TMP/peer.csv"
}
teardown() { rm -rf "$TMP"; }

@test "peer_rows.awk: best, min-max, rounds, ratio per figure" {
  run cat "$TMP/peer.csv"
  [[ "$output" == *"smollm2-135m,q8_0,prefill,512,2,120.0,80.0,120.0,40.0,30.0,40.0,3.000,,,,"* ]]
  [[ "$output" == *"smollm2-135m,q8_0,prefill,4096,1,40.0,40.0,40.0,20.0,20.0,20.0,2.000,,,,"* ]]
  [[ "$output" == *"smollm2-135m,q8_0,rss,4096,2,200,100,200,400,300,400,0.500,,,,"* ]]
  [ "$(wc -l < "$TMP/peer.csv")" -eq 5 ]
}

@test "peer_rows.awk: decode ceiling from weights + KV bytes per token" {
  # 137 MiB per token at 13.5 GB/s: 13.5e9 / (137 * 1048576) = 93.97 tok/s; 30 / 93.97, 16 / 93.97
  run grep ',decode,' "$TMP/peer.csv"
  [ "$output" = "smollm2-135m,q8_0,decode,512,2,30.00,20.00,30.00,16.00,15.00,16.00,1.875,137.0,94.0,0.319,0.170" ]
}

@test "peer_md.awk: the README table, the noise table, the settings" {
  run awk -F, -f tests/bench/peer_md.awk -v date="2026-11-30 14:30 UTC" -v cpu="AMD EPYC, 2 cpus" -v load0=0.1 \
    -v load1=0.2 -v bw0=13.5 -v bw1=12.0 -v threads=2 -v minutes=24 -v kernels="row_dot avx512" -v peer="llama.cpp v0.4.0" \
    -v node_mib=88 -v batch=512 -v decode=32 "$TMP/peer.csv"
  [ "$status" -eq 0 ]
  [[ "$output" == *"| shape | dtype | prefill 512 | prefill 4096 | decode after 512 | decode / ceiling | max RSS at 4096 |"* ]]
  [[ "$output" == *"| SmolLM2-135M | q8_0 | 120 / 40.0 (3.00x) | 40.0 / 20.0 (2.00x) | 30.0 / 16.0 (1.88x) | 32% / 17% of 94.0 | 200 / 400 MiB (0.50x) |"* ]]
  [[ "$output" == *"| SmolLM2-135M | q8_0 | 80.0-120 / 30.0-40.0 | 40.0-40.0 / 20.0-20.0 | 20.0-30.0 / 15.0-16.0 |"* ]]
  [[ "$output" == *"best of 2 interleaved rounds (prefill 4096: best of 1)"* ]]
  [[ "$output" == *"load average 0.1 at the start and 0.2 at the end"* ]]
}
