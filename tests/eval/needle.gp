# Needle heat maps (depth x context length) from tests/eval/table.py's CSV: greedy exact recall
# (top row) and the teacher-forced probability of the name's tokens (bottom row, log scale).
# gnuplot -e "csv='docs/eval/needle-c2.csv'; out='docs/eval/needle.png'" tests/eval/needle.gp
set datafile separator ","
set terminal pngcairo size 1600,760 font ",10"
set output out
set multiplot layout 2,5 title "Needle in a haystack: depth of the needle x context length (".csv.")"
names = "CompLLM-CEs token-drop naive-mean text no-context"
set xlabel "needle depth"
set ylabel "context length (tokens)"
set palette defined (0 "white", 1 "dark-blue")
set xrange [-0.125:1.125]
unset key
set cbrange [0:1]
do for [i=1:5] {
  set title word(names, i)." recall"
  plot csv skip 1 using 2:1:(column(2 + 2*i)) with points pt 5 ps 3.5 palette
}
set logscale cb
set cbrange [1e-4:1]
do for [i=1:5] {
  set title word(names, i)." p(needle)"
  plot csv skip 1 using 2:1:(column(3 + 2*i) > 1e-4 ? column(3 + 2*i) : 1e-4) with points pt 5 ps 3.5 palette
}
unset multiplot
