#!/usr/bin/env bats
# tests/demo (the README's first command) runs end to end and prints both answers' stats.

@test "tests/demo: segments, compresses, answers over text and over CEs" {
  [ -d "$CL_SHARED/models/tinystories-656k" ] || skip "../shared/models/tinystories-656k absent"
  CL_MODEL="$CL_SHARED/models/tinystories-656k" run tests/demo
  [ "$status" -eq 0 ]
  [ "$(grep -c '"kv_bytes"' <<< "$output")" -eq 2 ]
  [[ "$output" == *'"segments":'* ]]
}
