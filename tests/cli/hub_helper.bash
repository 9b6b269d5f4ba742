# Helpers for the tests that talk to tests/cli/hub_server.py, the loopback Hugging Face Hub:
# start_hub DIR [--fault F]... starts it for the repository $REPO serving DIR on 127.0.0.1 (an
# ephemeral port) and exports HF_ENDPOINT; stop_hub ends it.  HF_HUB_CACHE is $TMP/cache; no
# test reaches the internet (HF_ENDPOINT is always the loopback server).

load tiny_helper   # tiny_setup (MODEL, TMP), need_model

REPO=test-org/tinystories-656k

# hub_setup NAME: tiny_setup NAME with TMP made absolute, the Hub variables reset.
hub_setup() {
  tiny_setup "$1"
  TMP=$(cd "$TMP" && pwd)
  unset HF_TOKEN HF_HOME HF_HUB_OFFLINE HF_TOKEN_PATH HUGGINGFACE_HUB_CACHE XDG_CACHE_HOME CL_MODEL
  export HF_HUB_CACHE="$TMP/cache" HF_ENDPOINT="http://127.0.0.1:9/unused"
  HUB_PIDS=()
}

hub_teardown() {
  for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}

# start_hub DIR [server args...]: serve DIR as $REPO; the request log is $TMP/hub.log
start_hub() {
  local dir=$1; shift
  rm -f "$TMP/port" "$TMP/hub.log"
  /usr/bin/python3 tests/cli/hub_server.py --repo "$REPO" --dir "$dir" --port-file "$TMP/port" \
    --log "$TMP/hub.log" "$@" 3>&- &
  HUB_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  [ -s "$TMP/port" ]
  export HF_ENDPOINT="http://127.0.0.1:$(cat "$TMP/port")"
}

stop_hub() {
  for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  HUB_PIDS=()
  export HF_ENDPOINT="http://127.0.0.1:9/unused"
}

# The cache folder of $REPO and its snapshot of the commit in refs/main.
repo_dir() { echo "$HF_HUB_CACHE/models--${REPO%%/*}--${REPO##*/}"; }
