# Needle recall heat maps (depth x context length) from tests/eval/table.py's CSV.
# gnuplot -e "csv='docs/eval/needle-c2.csv'; out='docs/eval/needle.png'" tests/eval/needle.gp
set datafile separator ","
set terminal pngcairo size 1600,420 font ",10"
set output out
set multiplot layout 1,5 title "Needle recall (greedy exact, fraction of trials): depth of the needle x context length, ".csv
cols = "4 6 8 10 12"
names = "CompLLM-CEs token-drop naive-mean text no-context"
set xlabel "needle depth"
set ylabel "context length (tokens)"
set cbrange [0:1]
set palette defined (0 "white", 1 "dark-blue")
set xrange [-0.125:1.125]
unset key
do for [i=1:5] {
  set title word(names, i)
  plot csv skip 1 using 2:(column(1)):(column(word(cols, i)+0)) with points pt 5 ps 4.5 palette
}
unset multiplot
