#!/usr/bin/env bats
# make install / uninstall into a temporary PREFIX; the installed tools run the demo pipeline
# (tests/demo) away from the source tree's bin/ and models/: the shipped compressor is found in
# PREFIX/share/compllm, the model is the shared directory or ORG/NAME pulled into the cache.

load hub_helper

setup() { hub_setup install; }
teardown() { hub_teardown; }

install_to() {
  # -o tools: install what $CL_BIN holds (the ASan build under check-asan), building nothing
  make -s -o tools install PREFIX="$1" BIN="${CL_BIN:-bin}" > "$TMP/make.out" 2>&1
}

@test "make install PREFIX: tools, man pages, compressors + README under share/compllm; make uninstall removes them" {
  P="$TMP/prefix"
  install_to "$P"
  for t in cl-ask cl-compress cl-eval cl-model cl-segment cl-train; do [ -x "$P/bin/$t" ]; done
  [ -f "$P/share/man/man1/cl-model.1" ]
  [ -f "$P/share/man/man5/cl-ce.5" ]
  cmp "$P/share/compllm/tinystories-656k-c2.gguf" models/tinystories-656k-c2.gguf
  cmp "$P/share/compllm/README.md" models/README.md
  run "$P/bin/cl-model" list
  [ "$status" -eq 0 ]
  [[ "$output" == *"$P/share/compllm/tinystories-656k-c2.gguf  C=2  S=20  base model tinystories-656k"* ]]
  [[ "$output" != *"$PWD/models/"* ]]
  make -s uninstall PREFIX="$P" BIN="${CL_BIN:-bin}"
  [ -z "$(find "$P" -type f)" ]
  [ ! -e "$P/share/compllm" ]
}

@test "installed tools run the demo with the installed compressor, on the shared model and on a pulled ORG/NAME" {
  need_model
  P="$TMP/prefix"
  install_to "$P"
  CL_MODEL="$MODEL" tests/demo > "$TMP/ref.out" 2>&1    # the source tree's tools and models/
  sed -i '/^(the tools found no compressor/d' "$TMP/ref.out"  # (build-asan/bin has no models/ beside it)
  CL_BIN="$P/bin" CL_MODEL="$MODEL" tests/demo > "$TMP/installed.out" 2>&1
  ! grep -q "^(" "$TMP/installed.out"     # no fallback: the installed tools found their compressor
  [ "$(grep -c '"kv_bytes"' "$TMP/installed.out")" -eq 2 ]
  # the same answers and sizes (timings differ)
  diff <(sed 's/"seconds".*//; s/"prefill_s".*//' "$TMP/ref.out") <(sed 's/"seconds".*//; s/"prefill_s".*//' "$TMP/installed.out")
  # without the installed compressor the demo has to fall back: the lookup is real
  mv "$P/share/compllm/tinystories-656k-c2.gguf" "$TMP/k.gguf"
  CL_BIN="$P/bin" CL_MODEL="$MODEL" tests/demo > "$TMP/nok.out" 2>&1
  grep -q "^(the tools found no compressor of their own" "$TMP/nok.out"
  mv "$TMP/k.gguf" "$P/share/compllm/tinystories-656k-c2.gguf"
  # the model pulled from the (loopback) Hub by the installed cl-model, then used offline
  start_hub "$MODEL"
  "$P/bin/cl-model" pull "$REPO" > /dev/null
  stop_hub
  HF_HUB_OFFLINE=1 CL_BIN="$P/bin" CL_MODEL="$REPO" tests/demo > "$TMP/pulled.out" 2>&1
  ! grep -q "^(" "$TMP/pulled.out"
  diff <(sed 's/"seconds".*//; s/"prefill_s".*//' "$TMP/ref.out") <(sed 's/"seconds".*//; s/"prefill_s".*//' "$TMP/pulled.out")
}
