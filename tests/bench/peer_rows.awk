# peer_rows.awk — one model's log of tests/bench/peer.sh (lines "ours ..." from bench_gguf and
# "peer ..." from peer.mjs, several rounds) -> CSV lines of peer.csv (its header is in peer.sh):
#   shape,dtype,figure,ctx,n,ours,ours_min,ours_max,peer,peer_min,peer_max,ratio,mib_per_token,ceiling,ours_frac,peer_frac
# figure "prefill" (ctx = prompt length), "decode" (ctx = cache length before the steps) in tok/s,
# "rss" (ctx = longest prefill) in MiB: the largest max RSS of any round; n = rounds measured
# (for rss, of ours).  Best = max tok/s (for rss: max); ratio = ours best / peer best.  Decode rows
# also carry MiB read per decoded token (weights + KV cache, from bench_gguf), the ceiling
# bw * 1e9 / bytes in tok/s and both bests as fractions of it.
#   awk -v shape=NAME -v dt=DTYPE -v bw=GB_PER_S -f peer_rows.awk LOG
function add(e, k, v) {
    key = e SUBSEP k
    if (!(key in hi) || v > hi[key]) hi[key] = v
    if (!(key in lo) || v < lo[key]) lo[key] = v
    cnt[key]++
    if (!(k in seen)) { seen[k] = 1; order[n++] = k }
}
$1 == "ours" && $2 == "read" && $3 == "per" { mib = $6 + $14 }   # weights + KV cache
($2 == "prefill" || $2 == "decode") {
    if ($2 == "prefill") { k = "prefill," $3; v = $4; if ($3 + 0 > maxp) maxp = $3 + 0 }
    else { k = "decode," $4; v = $5 }
    sub(":", "", k)
    add($1, k, v)
}
$2 == "maxrss" { add($1, "rss", $3 / 1024) }
END {
    for (i = 0; i < n; i++) {
        k = order[i]; o = "ours" SUBSEP k; p = "peer" SUBSEP k
        if (k == "rss") continue
        split(k, f, ",")
        tail = ",,,,"
        if (f[1] == "decode" && mib > 0 && bw > 0) {
            ceil = bw * 1e9 / (mib * 1048576)
            tail = sprintf(",%.1f,%.1f,%.3f,%s", mib, ceil, hi[o] / ceil, (p in hi) ? sprintf("%.3f", hi[p] / ceil) : "")
        }
        printf "%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%.3f%s\n", shape, dt, f[1], f[2], (cnt[o] < cnt[p] ? cnt[o] : cnt[p]),
               hi[o], lo[o], hi[o], (p in hi) ? hi[p] : "", (p in lo) ? lo[p] : "", (p in hi) ? hi[p] : "",
               ((p in hi) && hi[p] > 0 ? hi[o] / hi[p] : 0), tail
    }
    o = "ours" SUBSEP "rss"; p = "peer" SUBSEP "rss"
    if (o in hi)
        printf "%s,%s,rss,%d,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.3f,,,,\n", shape, dt, maxp, cnt[o], hi[o], lo[o], hi[o],
               hi[p], lo[p], hi[p], (hi[p] > 0 ? hi[o] / hi[p] : 0)
}
