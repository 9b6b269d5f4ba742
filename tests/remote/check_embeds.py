#!/usr/bin/python3
"""check_embeds.py RECEIVED DTYPE MODEL.safetensors CE-FILE... — an independent check of the prompt
embeddings a server received from cl-ask --server (RECEIVED: the raw tensor bytes fake_vllm.py
wrote, DTYPE float32|bfloat16|float16), against the model's token-embedding table (read from
the safetensors file here) and the CE files' vectors (read here, man/cl-ce.5):
  - the rows are [some token embeddings] + [all CE vectors, in order] + [some token embeddings];
  - every row outside the CE block is exactly a row of the embedding table (f32), or that row
    rounded to DTYPE the way torch rounds (.to(DTYPE)).
Prints "ok PRE CE POST" or what differs; exit 0 / 1.  numpy and torch (for rounding)."""
import json
import struct
import sys

import numpy as np
import torch

SIZE = {0: 4, 1: 2, 30: 2}


def ce_vectors(paths):
    out = []
    for path in paths:
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            dim, count, dtype, _, nlen = struct.unpack_from("<IIBBH", data, pos + 8)
            payload, = struct.unpack_from("<Q", data, pos + 144)
            body = data[pos + 160 + nlen:pos + 160 + nlen + payload]
            if dtype == 0:
                v = np.frombuffer(body, "<f4")
            elif dtype == 1:
                v = np.frombuffer(body, "<f2").astype(np.float32)
            else:
                v = (np.frombuffer(body, "<u2").astype(np.uint32) << 16).view(np.float32)
            out.append(v.reshape(count, dim))
            pos += 160 + nlen + payload
    return np.concatenate(out)


def embed_table(path):
    data = open(path, "rb").read()
    n, = struct.unpack_from("<Q", data, 0)
    hdr = json.loads(data[8:8 + n])
    meta = hdr.get("__metadata__", {})
    name = "model.embed_tokens.weight"
    name = meta.get(name, name) if name not in hdr else name   # tied: stored under lm_head
    t = hdr[name]
    assert t["dtype"] == "F32", t["dtype"]
    a, b = t["data_offsets"]
    return np.frombuffer(data[8 + n + a:8 + n + b], "<f4").reshape(t["shape"])


def rounded(x, dtype):
    """x (f32) as the bits of DTYPE that torch gives, as int32/int16 for exact comparison."""
    t = torch.from_numpy(np.array(x, dtype=np.float32)).to(getattr(torch, dtype))
    return t.view(torch.int32 if dtype == "float32" else torch.int16).numpy()


def main():
    received, dtype, model, ces = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    table, ce = embed_table(model), ce_vectors(ces)
    dim = table.shape[1]
    bits = np.frombuffer(open(received, "rb").read(), np.int32 if dtype == "float32" else np.int16).reshape(-1, dim)
    want_ce, want_table = rounded(ce, dtype), rounded(table, dtype)
    n, k = len(bits), len(ce)
    starts = [s for s in range(n - k + 1) if np.array_equal(bits[s:s + k], want_ce)]
    if not starts:
        print(f"the {k} CE vectors are not a block of the {n} rows received")
        return 1
    s = starts[0]
    rows = {r.tobytes() for r in want_table}
    for i in list(range(s)) + list(range(s + k, n)):
        if bits[i].tobytes() not in rows:
            print(f"row {i} (outside the CE block at {s}..{s + k - 1}) is no row of the embedding table")
            return 1
    print(f"ok {s} {k} {n - s - k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
