#!/usr/bin/env bats
# cl-eval: usage, errors, fidelity mode on tinystories-656k (cross-checked against cl-train's own
# evaluation, an independent implementation on the training forward pass), and QA mode's
# EM/F1 recomputed from the produced answers with the official SQuAD definition in Python.

load tiny_helper

setup() {
  tiny_setup cl-eval
  export OPENBLAS_NUM_THREADS=1
}

need_python() {
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 absent"
}

# value of KEY in the JSON object on stdin
jget() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

@test "cl-eval --help prints usage and exits 0" {
  run cl-eval --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "cl-eval: bad usage exits 2" {
  run cl-eval --bogus
  [ "$status" -eq 2 ]
  run cl-eval --mode nonsense
  [ "$status" -eq 2 ]
  run cl-eval --mode qa
  [ "$status" -eq 2 ]
  run cl-eval --depth 1.5
  [ "$status" -eq 2 ]
  for l in 1q ,8 8, 8,,9 65537k 0 "" " 8"; do   # lib/cli.c cl_arg_lengths (bench_engine --ctx too)
    run cl-eval --mode qa --data x.jsonl --context-tokens "$l"
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "cl-eval: bad length list for --context-tokens: $l" ]
  done
  run cl-eval --limit 0
  [ "$status" -eq 2 ]
}

@test "cl-eval: missing or malformed data exits 1 naming the file and line" {
  need_model
  run cl-eval --model "$MODEL" --mode qa --data "$TMP/none.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == cl-eval:*none.jsonl* ]]
  printf '{"context":"a","answers":["b"]}\n{"context": 3}\n' > "$TMP/bad.jsonl"
  run cl-eval --model "$MODEL" --mode qa --data "$TMP/bad.jsonl"
  [ "$status" -eq 1 ]
  [[ "$output" == *bad.jsonl:line\ 2:*context* ]]
  run cl-eval --model "$MODEL" --compressor "$TMP/nope.gguf"
  [ "$status" -eq 1 ]
}

@test "cl-eval fidelity: table and JSON summary on held-out stories, utility from the NLLs" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --limit 2 --answer-tokens 8 --agree-tokens 8
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "cl-eval fidelity:"* ]]
  [[ "$output" == *compressed* ]] && [[ "$output" == *naive* ]] && [[ "$output" == *"retained utility"* ]]
  last="${lines[${#lines[@]}-1]}"
  echo "$last" | /usr/bin/python3 -c '
import json, math, sys
j = json.loads(sys.stdin.read())
assert j["mode"] == "fidelity" and j["examples"] == 2 and j["tokens"] > 0, j
for k in ("text", "ce", "none", "naive"):
    assert 0 < j["nll_" + k] < 20 and 0 <= j["top1_" + k] <= 1, k
    assert j["ttft_%s_s" % k] > 0 and j["kv_%s_bytes" % k] > 0, k
for k in ("ce", "none", "naive"):
    assert 0 <= j["agreement_" + k] <= 1, k
u = (j["nll_none"] - j["nll_ce"]) / (j["nll_none"] - j["nll_text"])
assert abs(u - j["utility"]) < 1e-6, (u, j["utility"])
assert j["kv_ce_bytes"] < j["kv_text_bytes"], "C=2 keeps fewer positions than the text"
'
}

@test "cl-eval fidelity --answers: one line per example whose per-token NLLs add up to its NLLs, and the lines to the summary" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --limit 3 --answer-tokens 12 --agree-tokens 4 --answers "$TMP/ex.jsonl" \
      --json "$TMP/ex.json"
  [ "$status" -eq 0 ]
  /usr/bin/python3 - "$TMP/ex.jsonl" "$TMP/ex.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
j = json.load(open(sys.argv[2]))
assert len(rows) == j["examples"] == 3 and [r["index"] for r in rows] == [0, 1, 2], rows
assert sum(r["continuation_tokens"] for r in rows) == j["tokens"]
for r in rows:
    assert r["context"] and r["continuation"] and r["context_tokens"] > 0, r
    assert 0 < r["continuation_tokens"] <= 12, r   # 12, or fewer when the teacher stops at EOS
    for k in ("text", "ce", "drop", "naive", "none"):
        t = r["token_nll_" + k]
        assert len(t) == r["continuation_tokens"] and min(t) >= 0, (k, t)
        assert abs(sum(t) - r["nll_" + k]) < 1e-4 * max(1, r["nll_" + k]), (k, sum(t), r["nll_" + k])
        assert 0 <= r["top1_" + k] <= r["continuation_tokens"], k
    # the continuation is the teacher's greedy one: every token the text's argmax
    assert r["top1_text"] == r["continuation_tokens"], r
for k in ("text", "ce", "drop", "naive", "none"):
    nll = sum(r["nll_" + k] for r in rows) / j["tokens"]
    assert abs(nll - j["nll_" + k]) < 1e-6 * nll, (k, nll, j["nll_" + k])
    top1 = sum(r["top1_" + k] for r in rows) / j["tokens"]
    assert abs(top1 - j["top1_" + k]) < 1e-7, (k, top1, j["top1_" + k])   # the summary: 8 digits
PY
  # needle mode has no such lines
  run cl-eval --model "$MODEL" --mode needle --answers "$TMP/n.jsonl"
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == *"--answers is for --mode fidelity or qa"* ]]
}

@test "cl-eval fidelity agrees with cl-train --evaluate on the same held-out file" {
  need_model
  cat > "$TMP/dev.jsonl" <<'JSONL'
{"context":"Once upon a time, there was a little girl named Lily. She had a red ball. She liked to play with it in the park every day. "}
{"context":"Tom had a small dog named Max. Max liked to run and bark at the birds. One day, Max found a big stick under a tree. "}
{"context":"Sue and Ben went to the beach with their dad. They built a big sand castle. "}
JSONL
  # cl-train is the reference here; its own leaks at exit (under check-asan) are not this test's
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
  # an untrained compressor of cl-train's default shape (cl-train --steps 0 is refused)
  cl-compress --model "$MODEL" --init-compressor "$TMP/c.gguf" --rank 4 --seed 3 --targets all
  run cl-train --model "$MODEL" --evaluate --init "$TMP/c.gguf" --dev "$TMP/dev.jsonl"
  [ "$status" -eq 0 ]
  echo "$output" | grep -E '^(nll_|top1_)' | sed 's/_full/_text/' | sort > "$TMP/train.txt"
  export ASAN_OPTIONS="${ASAN_OPTIONS%detect_leaks=0}detect_leaks=1"
  run cl-eval --model "$MODEL" --data "$TMP/dev.jsonl" --compressor "$TMP/c.gguf" --json "$TMP/eval.json"
  [ "$status" -eq 0 ]
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
want = dict(l.split() for l in open(sys.argv[2]))
assert len(want) == 8, want
for k, v in want.items():
    assert abs(j[k] - float(v)) < 1.5e-4, (k, j[k], v)
' "$TMP/eval.json" "$TMP/train.txt"
}

@test "cl-eval qa: EM/F1 of text, CEs, token-drop and naive are those of the answers it wrote (official definition); equal KV size" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --mode qa --data tests/data/qa-stories.jsonl --answers "$TMP/ans.jsonl" \
      --max-tokens 12 --json "$TMP/qa.json"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$TMP/ans.jsonl")" -eq 6 ]
  /usr/bin/python3 -c '
import collections, json, re, string, sys
def norm(s):
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())
def f1(p, g):
    p, g = norm(p).split(), norm(g).split()
    if not p or not g: return float(p == g)
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    return 0.0 if same == 0 else 2 * same / (len(p) + len(g))
rows = [json.loads(l) for l in open(sys.argv[1])]
run = json.load(open(sys.argv[2]))["runs"][0]
assert run["questions"] == len(rows) == 6
for tag in ("text", "ce", "drop", "naive"):
    key = tag + "_answer"
    em = sum(max(norm(r[key]) == norm(g) for g in r["answers"]) for r in rows) / len(rows)
    f = sum(max(f1(r[key], g) for g in r["answers"]) for r in rows) / len(rows)
    assert abs(em - run["em_" + tag]) < 1e-9 and abs(f - run["f1_" + tag]) < 1e-6, (tag, em, f, run)
    for r in rows:
        assert abs(max(f1(r[key], g) for g in r["answers"]) - r["f1_" + tag]) < 1e-6, r
    if tag != "text":
        ag = sum(f1(r[key], r["text_answer"]) for r in rows) / len(rows)
        agree = run["agree_f1" + ("" if tag == "ce" else "_" + tag)]
        assert abs(ag - agree) < 1e-6, (tag, ag, agree)
# equal KV size: the kept tokens and both kinds of CEs take the same positions, fewer than the text
assert run["kv_drop_positions"] == run["kv_ce_positions"] == run["kv_naive_positions"] < run["kv_text_positions"], run
assert run["kv_drop_bytes"] == run["kv_ce_bytes"] == run["kv_naive_bytes"] < run["kv_text_bytes"], run
assert abs(run["kv_text_positions"] - run["kv_ce_positions"] - (run["context_tokens"] - run["ces"])) < 1e-9, run
assert run["drop_s"] > 0 and run["naive_s"] > 0
' "$TMP/ans.jsonl" "$TMP/qa.json"
}

@test "cl-eval qa: SQuAD v2 JSON, unanswerable questions, long contexts from distractors" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --mode qa --data tests/data/squad-mini.json --seed 0 --max-tokens 4 \
      --answers "$TMP/sq.jsonl" --context-tokens 8,1k --depth 0 --json "$TMP/sq.json"
  [ "$status" -eq 0 ]
  /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["id"] for r in rows] == ["q1", "q2", "q3"] * 2, rows
assert rows[1]["answers"] == [""] and rows[0]["answers"] == ["red", "a red ball"]
runs = json.load(open(sys.argv[2]))["runs"]
assert [r["context_tokens_target"] for r in runs] == [8, 1024]
# 8 tokens: the gold paragraph alone already reaches it; 1k: the other paragraph is added
assert runs[1]["context_tokens"] > runs[0]["context_tokens"], runs
' "$TMP/sq.jsonl" "$TMP/sq.json"
}

@test "cl-eval: the shipped story compressor keeps more of the context than the naive mean" {
  need_model
  need_python
  [ -f models/tinystories-656k-c2.gguf ] || skip "models/tinystories-656k-c2.gguf not shipped"
  run cl-eval --model "$MODEL" --limit 8 --compressor models/tinystories-656k-c2.gguf --json "$TMP/c2.json"
  [ "$status" -eq 0 ]
  # measured 0.82-0.89 vs naive 0.64-0.74 over seeds 1-3 and 0.87 vs 0.69 on 64 stories
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["utility"] > 0.6 and j["utility"] > j["utility_naive"], (j["utility"], j["utility_naive"])
assert j["nll_text"] < j["nll_ce"] < j["nll_none"], j
' "$TMP/c2.json"
}

@test "cl-eval qa answers are cl-ask's: over the text, and over cl-segment | cl-compress CEs" {
  need_model
  need_python
  cl-compress --model "$MODEL" --init-compressor "$TMP/k.gguf" --seed 4
  run cl-eval --model "$MODEL" --mode qa --data tests/data/qa-stories.jsonl --seed 0 --limit 3 \
      --max-tokens 10 --compressor "$TMP/k.gguf" --answers "$TMP/a.jsonl"
  [ "$status" -eq 0 ]
  for i in 0 1 2; do
    /usr/bin/python3 -c '
import json, sys
i = int(sys.argv[1])
src = [json.loads(l) for l in open("tests/data/qa-stories.jsonl")][i]
ans = [json.loads(l) for l in open(sys.argv[2])][i]
open(sys.argv[3] + "/ctx.txt", "w").write(src["context"])
open(sys.argv[3] + "/q.txt", "w").write(src["question"])
open(sys.argv[3] + "/want_text.txt", "w").write(ans["text_answer"])
open(sys.argv[3] + "/want_ce.txt", "w").write(ans["ce_answer"])
' "$i" "$TMP/a.jsonl" "$TMP"
    q=$(cat "$TMP/q.txt")
    # cl-ask streams; cl-eval keeps the first line, trailing blanks trimmed
    cl-ask --model "$MODEL" --max-tokens 10 --text "$TMP/ctx.txt" "$q" | head -1 | sed 's/[[:space:]]*$//' > "$TMP/got_text.txt"
    cl-segment --model "$MODEL" "$TMP/ctx.txt" | cl-compress --model "$MODEL" --compressor "$TMP/k.gguf" -o "$TMP/ctx.ce"
    cl-ask --model "$MODEL" --max-tokens 10 "$TMP/ctx.ce" "$q" | head -1 | sed 's/[[:space:]]*$//' > "$TMP/got_ce.txt"
    diff <(cat "$TMP/want_text.txt"; echo) "$TMP/got_text.txt"
    diff <(cat "$TMP/want_ce.txt"; echo) "$TMP/got_ce.txt"
  done
}

@test "cl-eval fidelity: token-drop and naive hold exactly the CEs' KV positions; utilities from the NLLs" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --data models/data/tinystories-656k-dev.jsonl --limit 3 --answer-tokens 6 \
      --agree-tokens 4 --json "$TMP/f.json"
  [ "$status" -eq 0 ]
  [[ "$output" == *token-drop* ]] && [[ "$output" == *"KV pos"* ]]
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("text", "ce", "none", "naive", "drop"):
    for key in ("nll_", "top1_", "kv_%s_bytes", "kv_%s_positions", "ttft_%s_s"):
        key = key % k if "%" in key else key + k
        assert key in j and j[key] is not None, key
assert j["kv_drop_positions"] == j["kv_ce_positions"] == j["kv_naive_positions"], j
assert j["kv_drop_bytes"] == j["kv_ce_bytes"] < j["kv_text_bytes"], j
assert abs(j["kv_ce_positions"] - j["kv_none_positions"] - j["ces"]) < 1e-9, j
for k in ("drop", "naive"):
    u = (j["nll_none"] - j["nll_" + k]) / (j["nll_none"] - j["nll_text"])
    assert abs(u - j["utility_" + k]) < 1e-6, (k, u)
assert j["drop_s"] > 0
' "$TMP/f.json"
}

@test "cl-eval needle: table, JSON schema per depth x length cell, no-context floor" {
  need_model
  need_python
  run cl-eval --model "$MODEL" --mode needle --data models/data/tinystories-656k-dev.jsonl --limit 2 \
      --context-tokens 40,120 --depths 0,1 --json "$TMP/n.json"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "cl-eval needle:"* ]]
  [[ "$output" == *"p(needle)"* ]] && [[ "$output" == *token-drop* ]]
  /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "needle" and j["trials"] == 2 and j["probe"] == "One day, ", j
cells = j["cells"]
assert [(c["length"], c["depth"]) for c in cells] == [(40, 0), (40, 1), (120, 0), (120, 1)], cells
M = ("text", "ce", "none", "naive", "drop")
for c in cells:
    assert c["trials"] == 2 and 0 < c["context_tokens"] <= c["length"] + 8, c
    assert (c["needle_token_depth"] == 0) == (c["depth"] == 0), c
    for k in M:
        assert 0 <= c["p_" + k] <= 1 and c["recall_" + k] in (0, 0.5, 1), (k, c)
        assert c["kv_%s_positions" % k] > 0 and c["kv_%s_bytes" % k] > 0, (k, c)
    assert c["kv_drop_positions"] == c["kv_ce_positions"] == c["kv_naive_positions"] < c["kv_text_positions"], c
for k in M:
    mean = sum(c["p_" + k] for c in cells) / len(cells)
    assert abs(mean - j["p_" + k]) < 1e-6, k
assert len(set(c["p_none"] for c in cells)) == 1, "no context: the same prompt in every cell"
' "$TMP/n.json"
}

@test "cl-eval needle: the same seed gives the same numbers" {
  need_model
  cl-eval --model "$MODEL" --mode needle --data models/data/tinystories-656k-dev.jsonl --limit 1 \
      --context-tokens 60 --depths 0.5 --seed 4 --json "$TMP/a.json" > /dev/null
  cl-eval --model "$MODEL" --mode needle --data models/data/tinystories-656k-dev.jsonl --limit 1 \
      --context-tokens 60 --depths 0.5 --seed 4 --json "$TMP/b.json" > /dev/null
  cmp "$TMP/a.json" "$TMP/b.json"
}

@test "cl-eval needle: bad options are one-line errors" {
  run cl-eval --mode needle --depths 0,2
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == "cl-eval: bad depth list for --depths"* ]]
  run cl-eval --mode needle --depths 0,,1
  [ "$status" -eq 2 ]
  run cl-eval --depths 0.5
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == *"--depths is for --mode needle"* ]]
  run cl-eval --mode needle --answers x.jsonl
  [ "$status" -eq 2 ]
  run cl-eval --context-tokens 64
  [ "$status" -eq 2 ]
  need_model
  run cl-eval --model "$MODEL" --mode needle --context-tokens 64,600
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "cl-eval: needle: --context-tokens 600 does not fit the model's context of 512 tokens"* ]]
}

@test "cl-eval --rate/--max-segment: naive and identity follow them (CEs = sum of ceil(n/C) over cl-segment -S segments); a compressor file's C and S are checked" {
  need_model
  need_python
  printf 'Once upon a time, there was a little girl named Lily who liked to play with her red ball and her big brown dog in the park near the old house. She was happy. Tom came to play too. ' > "$TMP/doc.txt"
  for cs in "2 20" "4 10" "3 7"; do
    set -- $cs
    cl-segment --model "$MODEL" -S "$2" "$TMP/doc.txt" > "$TMP/seg.jsonl"
    want=$(/usr/bin/python3 -c 'import json, sys; C = int(sys.argv[2]); print(sum(-(-len(json.loads(l)["ids"]) // C) for l in open(sys.argv[1])))' "$TMP/seg.jsonl" "$1")
    for comp in naive identity; do
      run cl-eval --model "$MODEL" --compressor "$comp" --rate "$1" --max-segment "$2" --answer-tokens 2 --agree-tokens 2 \
          --json "$TMP/r.json" "$TMP/doc.txt"
      [ "$status" -eq 0 ]
      [[ "${lines[0]}" == *"compressor $comp (C=$1, S=$2)"* ]]
      /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert (j["rate"], j["max_segment"]) == (int(sys.argv[2]), int(sys.argv[3])), j
assert j["ces"] == int(sys.argv[4]), (j["ces"], sys.argv[4])
assert j["kv_ce_positions"] == j["kv_naive_positions"] == j["kv_drop_positions"] < j["kv_text_positions"], j
' "$TMP/r.json" "$1" "$2" "$want"
    done
  done
  f=models/tinystories-656k-c2.gguf
  [ -f "$f" ] || skip "$f not shipped"
  run cl-eval --model "$MODEL" --compressor "$f" --rate 4 "$TMP/doc.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-eval: $f: compression rate is 2, --rate says 4" ]]
  run cl-eval --model "$MODEL" --compressor "$f" --max-segment 40 "$TMP/doc.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == "cl-eval: $f: segment length is 20, --max-segment says 40" ]]
  run cl-eval --model "$MODEL" --compressor "$f" --rate 2 --max-segment 20 --answer-tokens 2 --agree-tokens 2 "$TMP/doc.txt"
  [ "$status" -eq 0 ]
  run cl-eval --rate 0
  [ "$status" -eq 2 ]
}
