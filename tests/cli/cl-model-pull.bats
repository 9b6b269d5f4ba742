#!/usr/bin/env bats
# cl-model pull / list and --model ORG/NAME against a loopback Hugging Face Hub
# (tests/cli/hub_server.py serving ../shared/models/tinystories-656k), the cache layout checked
# against Hugging Face's own JS client (@huggingface/hub snapshotDownload), injected faults.

load hub_helper

setup() { hub_setup cl-model-pull; }
teardown() { hub_teardown; }

need_npm_hub() {
  command -v node >/dev/null || skip "node absent"
  [ -d tests/ref/node_modules/@huggingface/hub ] || skip "npm module @huggingface/hub absent (cd tests/ref && npm install)"
}

# The greedy reference through --model ARG (as tests/cli/cl-ask.bats does with the directory).
greedy_ok() {
  tail -n +2 "$MODEL/greedy-reference.txt" > "$TMP/want"
  cl-ask --model "$1" --max-tokens 100 "" > "$TMP/got"
  cmp "$TMP/want" "$TMP/got"
}

@test "pull: the huggingface_hub cache layout, blobs equal to the served files; cl-ask --model ORG/NAME offline reproduces the greedy reference" {
  need_model
  start_hub "$MODEL"
  run cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  [ -z "$(cl-model pull "$REPO" 2>&1 >/dev/null)" ]   # quiet when stderr is not a tty
  d=$(repo_dir)
  commit=$(cat "$d/refs/main")
  [[ "$commit" =~ ^[0-9a-f]{40}$ ]]
  [ "$output" = "$d/snapshots/$commit" ]
  for f in config.json generation_config.json tokenizer.json tokenizer_config.json model.safetensors; do
    link="$d/snapshots/$commit/$f"
    [ -L "$link" ]
    target=$(readlink "$link")
    [[ "$target" == ../../blobs/* ]]
    cmp "$link" "$MODEL/$f"
  done
  # LFS blob named by its sha256, git files by their git blob sha1
  sha=$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)
  [ "$(readlink "$d/snapshots/$commit/model.safetensors")" = "../../blobs/$sha" ]
  gsha=$( (printf 'blob %d\0' "$(stat -c %s "$MODEL/config.json")"; cat "$MODEL/config.json") | sha1sum | cut -d' ' -f1)
  [ "$(readlink "$d/snapshots/$commit/config.json")" = "../../blobs/$gsha" ]
  [ ! -e "$d/snapshots/$commit/greedy-reference.txt" ]   # only what the tools need
  [ -z "$(find "$d" -name '*.incomplete')" ]
  stop_hub
  HF_HUB_OFFLINE=1 greedy_ok "$REPO"
  HF_HUB_OFFLINE=1 greedy_ok "$REPO@main"
  HF_HUB_OFFLINE=1 greedy_ok "$REPO@$commit"
  run cl-model list
  [ "$status" -eq 0 ]
  [[ "$output" == *"$REPO "*"main=${commit:0:12}"* ]]
}

@test "pull: a second pull downloads no file again" {
  need_model
  start_hub "$MODEL"
  cl-model pull "$REPO" > /dev/null
  : > "$TMP/hub.log"
  cl-model pull "$REPO" > /dev/null
  ! grep -q '^GET /cdn/' "$TMP/hub.log"
  ! grep -q '^GET .*/resolve/' "$TMP/hub.log"
}

@test "pull: same layout as @huggingface/hub snapshotDownload; compllm uses that client's cache offline and downloads nothing more" {
  need_model
  need_npm_hub
  start_hub "$MODEL"
  npmcache="$TMP/npmcache"
  run node tests/ref/hub_snapshot.mjs "$HF_ENDPOINT" "$REPO" "$npmcache"
  [ "$status" -eq 0 ]
  npmsnap="$output"
  cl-model pull "$REPO" > "$TMP/ours"
  ours=$(cat "$TMP/ours")
  [ "${npmsnap#$npmcache}" = "${ours#$HF_HUB_CACHE}" ]   # same relative snapshot path
  d=$(repo_dir)
  [ "$(cat "$d/refs/main")" = "$(cat "$npmcache/models--test-org--tinystories-656k/refs/main")" ]
  n=0
  for link in "$ours"/*; do
    f=$(basename "$link")
    [ "$(readlink "$link")" = "$(readlink "$npmsnap/$f")" ]
    cmp "$link" "$npmsnap/$f"
    n=$((n + 1))
  done
  [ "$n" -eq 5 ]
  # compllm offline on the JS client's cache
  stop_hub
  HF_HUB_CACHE="$npmcache" HF_HUB_OFFLINE=1 greedy_ok "$REPO"
  # and a pull into that cache fetches no file body
  start_hub "$MODEL"
  HF_HUB_CACHE="$npmcache" cl-model pull "$REPO" > /dev/null
  ! grep -Eq '^GET (/cdn/|.*/resolve/)' "$TMP/hub.log"
}

@test "--model ORG/NAME not cached: says how to pull it; --pull downloads it; HF_HUB_OFFLINE=1 forbids pulling" {
  need_model
  run cl-ask --model "$REPO" --max-tokens 3 "x"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"not in the Hugging Face cache"*"cl-model pull $REPO"* ]]
  run env CL_MODEL="$REPO" cl-segment tests/data/demo-story.txt
  [ "$status" -ne 0 ]
  [[ "$output" == *"cl-model pull $REPO"* ]]
  start_hub "$MODEL"
  run env HF_HUB_OFFLINE=1 cl-model pull "$REPO"
  [ "$status" -ne 0 ]
  [[ "$output" == *"offline mode"* ]]
  [ ! -e "$(repo_dir)" ]
  [ ! -s "$TMP/hub.log" ]
  greedy_ok_pull() {
    tail -n +2 "$MODEL/greedy-reference.txt" > "$TMP/want"
    cl-ask --pull --model "$REPO" --max-tokens 100 "" > "$TMP/got"
    cmp "$TMP/want" "$TMP/got"
  }
  greedy_ok_pull
  grep -q '^GET /cdn/' "$TMP/hub.log"
  # offline, pull answers from the cache, as snapshot_download does
  : > "$TMP/hub.log"
  run env HF_HUB_OFFLINE=1 cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  [ "$output" = "$(repo_dir)/snapshots/$(cat "$(repo_dir)/refs/main")" ]
  [ ! -s "$TMP/hub.log" ]
}

@test "pull: 404 repository, revision and --include, bad references: one-line errors" {
  need_model
  start_hub "$MODEL"
  run cl-model pull test-org/nonexistent
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"test-org/nonexistent: repository not found"* ]]
  run cl-model pull "$REPO@v9"
  [ "$status" -eq 1 ]
  [[ "$output" == *"revision v9 not found"* ]]
  run cl-model pull "$REPO" --include 'nothing*'
  [ "$status" -eq 1 ]
  [[ "$output" == *"no file of the repository matches --include"* ]]
  run cl-model pull "not a ref"
  [ "$status" -eq 2 ]
  run cl-model pull "a/b/c"
  [ "$status" -eq 2 ]
  run cl-model pull "../x"
  [ "$status" -eq 2 ]
  run cl-model pull "$REPO" --gguf Q8_0
  [ "$status" -eq 1 ]
  [[ "$output" == *"no .gguf file matches Q8_0"* ]]
  [ ! -e "$(repo_dir)/refs" ]
}

@test "pull --include GLOB fetches exactly the matching files" {
  need_model
  start_hub "$MODEL"
  run cl-model pull "$REPO" --include '*.txt' --include 'config.json'
  [ "$status" -eq 0 ]
  [ "$(cd "$output" && ls | tr '\n' ' ')" = "config.json greedy-reference.ids.txt greedy-reference.txt " ]
  cmp "$output/greedy-reference.txt" "$MODEL/greedy-reference.txt"
}

@test "pull: connection cut mid-file is resumed with Range; 500s are retried" {
  need_model
  start_hub "$MODEL" --fault cut:model.safetensors --fault e500:2
  run cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  cmp "$output/model.safetensors" "$MODEL/model.safetensors"
  half=$(( $(stat -c %s "$MODEL/model.safetensors") / 2 ))
  grep -q "^GET /cdn/.* bytes=$half-\$" "$TMP/hub.log"
}

@test "pull: an interrupted earlier pull is resumed from its .incomplete file" {
  need_model
  start_hub "$MODEL"
  sha=$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)
  mkdir -p "$(repo_dir)/blobs"
  head -c 1000000 "$MODEL/model.safetensors" > "$(repo_dir)/blobs/$sha.incomplete"
  run cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  grep -q "^GET /cdn/$sha bytes=1000000-\$" "$TMP/hub.log"
  cmp "$output/model.safetensors" "$MODEL/model.safetensors"
  [ ! -e "$(repo_dir)/blobs/$sha.incomplete" ]
}

@test "pull: a server that ignores Range: the partial file is restarted, not appended to" {
  need_model
  start_hub "$MODEL" --fault norange:model.safetensors
  sha=$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)
  mkdir -p "$(repo_dir)/blobs"
  head -c 1000000 "$MODEL/model.safetensors" > "$(repo_dir)/blobs/$sha.incomplete"
  run cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  cmp "$output/model.safetensors" "$MODEL/model.safetensors"
  [ "$(grep -c "^GET /cdn/$sha" "$TMP/hub.log")" -eq 2 ]
}

@test "pull: a body always cut short, wrong bytes, a hanging server: one-line errors, nothing visible" {
  need_model
  sha=$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)
  start_hub "$MODEL" --fault cutall:model.safetensors
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"model.safetensors: truncated body"* ]]
  [ ! -e "$(repo_dir)/blobs/$sha" ]
  [ ! -e "$(repo_dir)/refs/main" ]
  [ -z "$(find "$(repo_dir)/snapshots" -name model.safetensors)" ]
  run cl-ask --model "$REPO" "x"
  [ "$status" -ne 0 ]
  stop_hub
  rm -rf "$HF_HUB_CACHE"
  start_hub "$MODEL" --fault wrong:model.safetensors
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"model.safetensors: wrong checksum"* ]]
  [ -z "$(find "$(repo_dir)/blobs" -name "$sha*")" ]
  [ ! -e "$(repo_dir)/refs/main" ]
  stop_hub
  start_hub "$MODEL" --fault wrong:tokenizer.json   # a file stored in git: its git blob sha1
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"tokenizer.json: wrong checksum: git blob sha1"* ]]
  [ -z "$(find "$(repo_dir)/snapshots" -name tokenizer.json)" ]
  stop_hub
  rm -rf "$HF_HUB_CACHE"
  start_hub "$MODEL" --fault slow:model.safetensors
  SECONDS=0
  run env HF_HUB_DOWNLOAD_TIMEOUT=1 cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"timed out"* ]]
  [ "$SECONDS" -lt 30 ]
  [ ! -e "$(repo_dir)/blobs/$sha" ]
}

@test "pull: a gated repository needs a token (401 names the repo); HF_TOKEN and the token file work" {
  need_model
  start_hub "$MODEL" --fault token:hf_secret
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"$REPO: access denied (HTTP 401)"*"needs a token"*HF_TOKEN* ]]
  run env HF_TOKEN=hf_wrong cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [[ "$output" == *"access denied"*"token given"* ]]
  run env HF_TOKEN=hf_secret cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  rm -rf "$HF_HUB_CACHE"
  mkdir -p "$TMP/hfhome"
  printf 'hf_secret\n' > "$TMP/hfhome/token"
  run env HF_HOME="$TMP/hfhome" cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  cmp "$output/model.safetensors" "$MODEL/model.safetensors"
}

@test "pull: two concurrent pulls of one repository both succeed and download each blob once" {
  need_model
  start_hub "$MODEL" --fault drip:model.safetensors
  cl-model pull "$REPO" > "$TMP/a" 2>&1 &
  a=$!
  cl-model pull "$REPO" > "$TMP/b" 2>&1 &
  b=$!
  wait $a
  wait $b
  [ "$(cat "$TMP/a")" = "$(cat "$TMP/b")" ]
  cmp "$(cat "$TMP/a")/model.safetensors" "$MODEL/model.safetensors"
  [ "$(grep -c '^GET /cdn/' "$TMP/hub.log")" -eq 1 ]
}

@test "pull: a write error (file size limit) is a one-line error and leaves no blob" {
  need_model
  start_hub "$MODEL"
  run bash -c "trap '' XFSZ; ulimit -f 1000; exec cl-model pull $REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"model.safetensors: cannot write"* ]]
  [ ! -e "$(repo_dir)/refs/main" ]
  [ -z "$(find "$(repo_dir)/snapshots" -name model.safetensors)" ]
}

@test "pull: a GGUF repository: --gguf QUANT or :QUANT picks one file; several without a choice is an error" {
  need_model
  mkdir -p "$TMP/gguf"
  cp models/tinystories-656k-c2.gguf "$TMP/gguf/tiny-Q8_0.gguf"
  cp models/tinystories-656k-c2.gguf "$TMP/gguf/tiny-F16.gguf"
  echo '# readme' > "$TMP/gguf/README.md"
  REPO=test-org/tiny-GGUF
  start_hub "$TMP/gguf"
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [[ "$output" == *"2 .gguf files"*"--gguf QUANT"* ]]
  run cl-model pull "$REPO" --gguf q8_0
  [ "$status" -eq 0 ]
  [[ "$output" == */tiny-Q8_0.gguf ]]
  cmp "$output" "$TMP/gguf/tiny-Q8_0.gguf"
  [ ! -e "$(dirname "$output")/tiny-F16.gguf" ]
  run cl-model pull "$REPO:F16"
  [ "$status" -eq 0 ]
  [[ "$output" == */tiny-F16.gguf ]]
}

@test "pull: progress bar on a tty" {
  need_model
  command -v script >/dev/null || skip "script(1) absent"
  start_hub "$MODEL"
  run script -qec "cl-model pull $REPO" /dev/null
  [ "$status" -eq 0 ]
  [[ "$output" == *"model.safetensors"*"MB/s"*"ETA"* ]]
}

@test "pull: a file listed but missing is a one-line 404 naming it; a renamed repository is followed" {
  need_model
  start_hub "$MODEL" --fault gone:tokenizer.json --fault moved:old-org/old-name
  run cl-model pull "$REPO"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"$REPO: file tokenizer.json not found in the repository"* ]]
  [ ! -e "$(repo_dir)/refs/main" ]
  run cl-model pull old-org/old-name --include config.json
  [ "$status" -eq 0 ]
  [[ "$output" == "$HF_HUB_CACHE/models--old-org--old-name/snapshots/"* ]]
  cmp "$output/config.json" "$MODEL/config.json"
  grep -q "^HEAD /old-org/old-name/resolve/" "$TMP/hub.log"
}

@test "pull: sharded weights: the index and its shards, not a duplicate consolidated.safetensors" {
  need_model
  mkdir -p "$TMP/sharded/original"
  for f in config.json tokenizer.json tokenizer_config.json; do cp "$MODEL/$f" "$TMP/sharded/"; done
  echo '{"weight_map": {}}' > "$TMP/sharded/model.safetensors.index.json"
  echo one > "$TMP/sharded/model-00001-of-00002.safetensors"
  echo two > "$TMP/sharded/model-00002-of-00002.safetensors"
  echo dup > "$TMP/sharded/consolidated.safetensors"
  echo sub > "$TMP/sharded/original/model.safetensors"
  REPO=test-org/sharded
  start_hub "$TMP/sharded"
  run cl-model pull "$REPO"
  [ "$status" -eq 0 ]
  [ "$(cd "$output" && find . -type l | sort | tr '\n' ' ')" = "./config.json ./model-00001-of-00002.safetensors ./model-00002-of-00002.safetensors ./model.safetensors.index.json ./tokenizer.json ./tokenizer_config.json " ]
}
