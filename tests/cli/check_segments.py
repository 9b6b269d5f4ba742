#!/usr/bin/python3
"""Checks cl-segment output (JSONL on stdin) against its inputs, independently of the C code:
usage: check_segments.py S INPUT [INPUT...] [--names N1,N2,...] [--lossy]
- every line is a JSON object of format v1 with the documented fields and types;
- per source (in order): index runs 0,1,2..., offsets are contiguous from 0, and the texts
  concatenate to the input bytes (with --lossy: to the input decoded with U+FFFD replacement;
  offsets/lengths then still add up to the input's byte length);
- every segment has at most S ids, no segment is empty, "end" is "sentence" or "tokens".
Prints "ok: N segments" or the first failure (exit 1)."""
import json, sys

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

args = sys.argv[1:]
lossy = "--lossy" in args
args = [a for a in args if a != "--lossy"]
names = None
if "--names" in args:
    i = args.index("--names")
    names = args[i + 1].split(",")
    del args[i:i + 2]
S, inputs = int(args[0]), args[1:]
names = names or inputs
segs = []
for n, line in enumerate(sys.stdin.buffer, 1):
    try:
        s = json.loads(line.decode("utf-8"))
    except Exception as e:
        fail(f"line {n}: not UTF-8 JSON: {e}")
    if s.get("v") != 1:
        fail(f"line {n}: v is not 1")
    for k, t in (("name", str), ("index", int), ("offset", int), ("length", int),
                 ("end", str), ("text", str), ("ids", list)):
        if not isinstance(s.get(k), t):
            fail(f"line {n}: field {k} missing or not {t.__name__}")
    if s["end"] not in ("sentence", "tokens"):
        fail(f"line {n}: bad end {s['end']}")
    if not all(isinstance(i, int) and i >= 0 for i in s["ids"]):
        fail(f"line {n}: ids are not non-negative integers")
    if len(s["ids"]) > S:
        fail(f"line {n}: {len(s['ids'])} ids > {S}")
    if not s["text"]:
        fail(f"line {n}: empty text")
    segs.append(s)

pos = 0
for path, name in zip(inputs, names):
    data = open(path, "rb").read()
    want = data.decode("utf-8", errors="replace") if lossy else data.decode("utf-8")
    mine = []
    while pos < len(segs) and segs[pos]["name"] == name and (not mine or segs[pos]["index"] > 0):
        mine.append(segs[pos])
        pos += 1
    if "".join(s["text"] for s in mine) != want:
        fail(f"{path}: texts do not concatenate to the input ({len(mine)} segments)")
    off = 0
    for i, s in enumerate(mine):
        if s["index"] != i or s["offset"] != off:
            fail(f"{path}: segment {i}: index {s['index']} offset {s['offset']}, want {i} {off}")
        if not lossy and s["length"] != len(s["text"].encode()):
            fail(f"{path}: segment {i}: length {s['length']} != text bytes")
        if not lossy and data[off:off + s["length"]] != s["text"].encode():
            fail(f"{path}: segment {i}: input bytes at offset/length differ from text")
        off += s["length"]
    if off != len(data):
        fail(f"{path}: lengths add up to {off}, input has {len(data)} bytes")
if pos != len(segs):
    fail(f"{len(segs) - pos} segments left over (names {sorted(set(s['name'] for s in segs[pos:]))})")
print(f"ok: {len(segs)} segments")
