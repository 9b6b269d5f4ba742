#!/usr/bin/python3
"""quant_range.py — the helper of tests/cli/dtype-range.bats.

quant_range.py poke DIR TENSOR ROW COL VALUE
    set element [ROW, COL] of the F32 tensor TENSOR of DIR/model.safetensors to VALUE (9e6, nan..);
    ROW "all": column COL of every row.
quant_range.py check DIR TENSOR FILE.gguf NAME DIV
    TENSOR of DIR against NAME of FILE.gguf, read by tests/ref's GGUF reader and block decoders
    (independent of lib/): prints the largest error of a block of 32 in units of its step
    (the block's |x| max / DIV); exit 1 where an element read back is not finite."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import ref_forward  # noqa: E402


def poke(d, name, row, col, value):
    path = os.path.join(d, "model.safetensors")
    with open(path, "r+b") as f:
        hl = struct.unpack("<Q", f.read(8))[0]
        e = json.loads(f.read(hl))[name]
        assert e["dtype"] == "F32" and len(e["shape"]) == 2, name + ": not a 2-D F32 tensor"
        for r in range(e["shape"][0]) if row == "all" else [int(row)]:
            f.seek(8 + hl + e["data_offsets"][0] + 4 * (r * e["shape"][1] + col))
            f.write(struct.pack("<f", value))


def check(d, name, gguf, gname, div):
    x = ref_forward.read_safetensors(os.path.join(d, "model.safetensors"))[0][name].reshape(-1, 32)
    y = ref_forward.read_gguf(gguf)[1][gname].reshape(-1, 32)
    if not np.isfinite(y).all():
        print("not finite")
        sys.exit(1)
    step = np.abs(x).max(axis=1) / div
    err = np.abs(y - x).max(axis=1)
    print("%.3f" % (err / np.where(step > 0, step, 1)).max())


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 7 and a[1] == "poke":
        poke(a[2], a[3], a[4], int(a[5]), float(a[6]))
    elif len(a) == 7 and a[1] == "check":
        check(a[2], a[3], a[4], a[5], float(a[6]))
    else:
        sys.exit(__doc__)
