# tiny_helper.bash — the setup of the tests/cli files that run tinystories-656k (`load tiny_helper`).

# tiny_setup NAME: MODEL (tinystories-656k under $CL_SHARED) and a fresh scratch directory
# TMP=$CL_TMP/NAME.PID.
tiny_setup() {
  MODEL="$CL_SHARED/models/tinystories-656k"
  TMP="${CL_TMP:-tests/tmp}/$1.$$"
  rm -rf "$TMP"; mkdir -p "$TMP"
}

# Skip the test (from setup: the file) where tinystories-656k is absent.
need_model() {
  [ -d "$MODEL" ] || skip "../shared/models/tinystories-656k absent"
}
