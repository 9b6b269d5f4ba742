# TTFT and speed-up against context length from bench_ttft's CSV (tests/bench/ttft.sh).
# gnuplot -e "csv='ttft.csv'; out='ttft.png'" ttft.gp
set datafile separator ","
set terminal pngcairo size 1400,560 font ",11"
set output out
set multiplot layout 1,2 title "CompLLM C=2: time to first token, uncompressed vs compressed (CPU, f32; SmolLM2/Qwen3 shapes with random weights)"
models = "tinystories-656k smollm2-135m qwen3-0.6b"
sel(m, col) = strcol(1) eq m ? column(col) : NaN
set logscale xy 2
set logscale y 10
set xlabel "context tokens"
set key top left font ",9"
set grid
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set xtics ("512" 512, "1k" 1024, "2k" 2048, "4k" 4096, "8k" 8192, "16k" 16384, "32k" 32768, "64k" 65536, "128k" 131072)
set ylabel "TTFT (s)"
set key bottom right font ",9"
plot for [i=1:words(models)] csv using (sel(word(models,i),4)):7 skip 1 with linespoints lw 2 lc i pt 7 \
       title word(models,i)." text", \
     for [i=1:words(models)] csv using (sel(word(models,i),4)):8 skip 1 with linespoints lw 2 lc i dt 2 pt 5 \
       title word(models,i)." compressed (incl. compression)", \
     for [i=1:words(models)] csv using (sel(word(models,i),4)):12 skip 1 with linespoints lw 2 lc i dt 3 pt 9 \
       title word(models,i)." compressed, warm cache"
unset logscale y
set key top left font ",9"
set ylabel "speed-up of TTFT (text / compressed)"
set yrange [0:*]
plot for [i=1:words(models)] csv using (sel(word(models,i),4)):13 skip 1 with linespoints lw 2 lc i dt 2 pt 5 \
       title word(models,i)." incl. compression", \
     for [i=1:words(models)] csv using (sel(word(models,i),4)):14 skip 1 with linespoints lw 2 lc i dt 3 pt 9 \
       title word(models,i)." warm cache", \
     1 with lines lc rgb "gray" dt 1 notitle
unset multiplot
