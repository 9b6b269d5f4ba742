#!/usr/bin/env bats
# Every long option a tool accepts (the names in its getopt_long table, src/cl-*.c) is listed in
# its --help and in its man page (man/TOOL.1, where roff writes "-" as "\-").

@test "every option of every cl-* tool is in its --help and its man page" {
  missing=""
  for src in src/cl-*.c; do
    t=$(basename "$src" .c)
    help=$("$t" --help 2>&1)
    man=$(sed 's/\\-/-/g' "man/$t.1")
    for o in $(grep -oE '\{"[a-z0-9-]+", *(required_argument|no_argument|optional_argument|[012]) *,' "$src" |
               sed -E 's/\{"([^"]+)".*/\1/' | sort -u); do
      grep -qe "--$o\b" <<< "$help" || missing+=" $t:--help:--$o"
      grep -qe "--$o\b" <<< "$man" || missing+=" $t:man:--$o"
    done
  done
  echo "missing:$missing"
  [ -z "$missing" ]
}

@test "the option tables are found: each tool has some, cl-ask's include --kv-type" {
  for src in src/cl-*.c; do
    [ "$(grep -cE '\{"[a-z0-9-]+", *(required_argument|no_argument|optional_argument|[012]) *,' "$src")" -gt 0 ]
  done
  grep -qE '\{"kv-type", *required_argument' src/cl-ask.c
}
