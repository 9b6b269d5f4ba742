# peer_md.awk — peer.csv (tests/bench/peer.sh) -> the markdown of OUT/peer.md: a header line (date,
# machine, load, bandwidth, command), the table "ours / llama.cpp (ratio)" per shape and dtype,
# a noise table (min-max of the rounds) and the kernels/settings of both engines.
#   awk -F, -f peer_md.awk -v date=.. -v cpu=.. -v load0=.. -v load1=.. -v bw0=.. -v bw1=.. \
#       -v threads=.. -v minutes=.. -v kernels=.. -v peer=.. -v node_mib=.. -v batch=.. -v decode=.. -v settings=.. peer.csv
function num(v) { return v == "" ? "-" : v + 0 >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v) }
function pretty(s) { return s == "smollm2-135m" ? "SmolLM2-135M" : s == "qwen3-0.6b" ? "Qwen3-0.6B" : s }
function col(f, c) { k = f "," c; if (!(k in cseen)) { cseen[k] = 1; cols[nc++] = k } }
NR == 1 { next }
{
    r = $1 "," $2
    if (!(r in rseen)) { rseen[r] = 1; rows[nr++] = r }
    k = $3 "," $4
    if ($3 != "rss") col($3, $4); else rssctx = $4
    key = r SUBSEP k
    best[key] = $6; lo[key] = $7; hi[key] = $8; pbest[key] = $9; plo[key] = $10; phi[key] = $11; ratio[key] = $12
    ceil[key] = $14; of[key] = $15; pf[key] = $16; if ($15 + 0 > 1 || $16 + 0 > 1) over = 1; rss_o[r] = ($3 == "rss") ? $6 : rss_o[r]; rss_p[r] = ($3 == "rss") ? $9 : rss_p[r]
    rss_r[r] = ($3 == "rss") ? $12 : rss_r[r]
    if ($3 == "prefill") { if ($5 + 0 > nmax) nmax = $5 + 0; nby[$4] = $5 }
}
END {
    printf "Measured %s on %s, %d threads each, load average %s at the start and %s at the end, ", date, cpu, threads, load0, load1
    printf "read bandwidth %s / %s GB/s (start / end), %d minutes: `make bench BENCH=peer` (tests/bench/peer.sh) with %s.\n\n", bw0, bw1, minutes, settings
    head = "| shape | dtype |"; rule = "|---|---|"
    for (i = 0; i < nc; i++) {
        split(cols[i], f, ",")
        head = head " " (f[1] == "prefill" ? "prefill " f[2] : "decode after " f[2]) " |"; rule = rule "---|"
        if (f[1] == "decode") { head = head " decode / ceiling |"; rule = rule "---|" }
    }
    print head " max RSS at " rssctx " |"; print rule "---|"
    for (j = 0; j < nr; j++) {
        r = rows[j]; split(r, g, ","); line = "| " pretty(g[1]) " | " g[2] " |"
        for (i = 0; i < nc; i++) {
            key = r SUBSEP cols[i]
            if (!(key in best)) { line = line " |"; continue }
            line = line sprintf(" %s / %s (%.2fx) |", num(best[key]), num(pbest[key]), ratio[key])
            if (cols[i] ~ /^decode/)
                line = line (ceil[key] == "" ? " |" : sprintf(" %.0f%% / %.0f%% of %s |", 100 * of[key], 100 * pf[key], num(ceil[key])))
        }
        print line (r in rss_o && rss_o[r] != "" ? sprintf(" %d / %d MiB (%.2fx) |", rss_o[r], rss_p[r], rss_r[r]) : " |")
    }
    printf "\ntok/s ours / llama.cpp (ratio ours : llama.cpp), best of %d interleaved rounds", nmax
    for (c in nby) if (nby[c] != nmax) printf " (prefill %s: best of %d)", c, nby[c]
    printf "; decode: %d steps; decode / ceiling: each decode figure as a fraction of the best read bandwidth / ", decode
    printf "the bytes read per decoded token (every weight matrix incl. the lm_head, plus the f16 KV cache), ceiling in tok/s; "
    printf "max RSS of each whole process (llama.cpp's includes node and node-llama-cpp, %s MiB without a model).", node_mib
    if (over) printf "  Above 100%%: decode read faster than the bandwidth test did (a loaded machine), so those ceilings are too low."
    printf "\n\n"
    print "Noise, min-max of the rounds, ours / llama.cpp (tok/s):\n"
    head = "| shape | dtype |"; rule = "|---|---|"
    for (i = 0; i < nc; i++) { split(cols[i], f, ","); head = head " " (f[1] == "prefill" ? "prefill " f[2] : "decode after " f[2]) " |"; rule = rule "---|" }
    print head; print rule
    for (j = 0; j < nr; j++) {
        r = rows[j]; split(r, g, ","); line = "| " pretty(g[1]) " | " g[2] " |"
        for (i = 0; i < nc; i++) {
            key = r SUBSEP cols[i]
            line = line ((key in best) ? sprintf(" %s-%s / %s-%s |", num(lo[key]), num(hi[key]), num(plo[key]), num(phi[key])) : " |")
        }
        print line
    }
    printf "\nOurs: %s, KV cache f16, prefill in spans of %s positions.  \n", kernels, batch
    printf "llama.cpp: %s.\n\n", peer
}
