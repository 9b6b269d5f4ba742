# Ours against llama.cpp from peer.csv (tests/bench/peer.sh): per shape, prefill tok/s against the
# prompt length (ours solid, llama.cpp dashed, one colour per dtype) and decode as a fraction of
# the bandwidth ceiling (bars, tok/s on top).
#   gnuplot -e "csv='peer.csv'; out='peer.png'; shapes='smollm2-135m qwen3-0.6b'; dtypes='f32 bf16 q8_0 q4_K_M'" peer.gp
set datafile separator ","
if (!exists("shapes")) shapes = "smollm2-135m qwen3-0.6b"
if (!exists("dtypes")) dtypes = "f32 bf16 q8_0 q4_K_M"
if (!exists("title")) title = "ours (solid) vs llama.cpp (dashed), random weights of real shapes"
ns = words(shapes); nd = words(dtypes)
set terminal pngcairo size 1400, 480 * ns font ",11" noenhanced
set output out
set multiplot layout ns, 2 title title
is(s, d, f) = strcol(1) eq s && strcol(2) eq d && strcol(3) eq f
do for [s = 1:ns] {
    sh = word(shapes, s)
    set logscale x 2
    set xtics ("512" 512, "1k" 1024, "2k" 2048, "4k" 4096, "8k" 8192, "16k" 16384, "32k" 32768)
    set xlabel "prompt tokens"
    set ylabel "prefill tok/s"
    set yrange [0:*]
    set offsets graph 0.05, graph 0.05, graph 0.05, 0
    set key outside right top font ",9"
    set grid
    set title sh." prefill"
    plot for [d = 1:nd] csv using (is(sh, word(dtypes, d), "prefill") ? $4 : NaN):6 skip 1 with linespoints lw 2 lc d pt 7 \
           title word(dtypes, d)." ours", \
         for [d = 1:nd] csv using (is(sh, word(dtypes, d), "prefill") ? $4 : NaN):9 skip 1 with linespoints lw 2 lc d dt 2 pt 6 \
           title word(dtypes, d)." llama.cpp"
    unset logscale x
    set offsets 0, 0, 0, 0
    set xrange [0.4:nd + 0.6]
    set xtics () 
    do for [d = 1:nd] { set xtics add (word(dtypes, d) d) }
    set xlabel "weights"
    set ylabel "decode, % of the bandwidth ceiling"
    set yrange [0:*]
    set offsets 0, 0, graph 0.15, 0
    set style fill solid 0.6 border -1
    set boxwidth 0.35
    set key inside right top font ",9"
    set title sh." decode (labels: tok/s)"
    plot for [d = 1:nd] csv using (is(sh, word(dtypes, d), "decode") ? d - 0.19 : NaN):(100 * $15) skip 1 with boxes lc rgb "#1f77b4" \
           title (d == 1 ? "ours" : ""), \
         for [d = 1:nd] csv using (is(sh, word(dtypes, d), "decode") ? d + 0.19 : NaN):(100 * $16) skip 1 with boxes lc rgb "#ff7f0e" \
           title (d == 1 ? "llama.cpp" : ""), \
         for [d = 1:nd] csv using (is(sh, word(dtypes, d), "decode") ? d - 0.19 : NaN):(100 * $15):(sprintf("%.1f", $6)) skip 1 \
           with labels offset 0, 0.7 font ",9" notitle, \
         for [d = 1:nd] csv using (is(sh, word(dtypes, d), "decode") ? d + 0.19 : NaN):(100 * $16):(sprintf("%.1f", $9)) skip 1 \
           with labels offset 0, 0.7 font ",9" notitle
    set xrange [*:*]
    set offsets 0, 0, 0, 0
    unset style fill
}
unset multiplot
