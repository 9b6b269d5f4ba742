#!/usr/bin/python3
"""torch_load_check.py — checks archives written by lib/torch_save.c with torch itself.

Reads checks from stdin, one a line, and prints one result line each ("ok" or what differs);
exit 1 if any failed.  (One process for all: importing torch takes seconds.)

  save ARCHIVE RAW DTYPE ROWS COLS
      torch.load(ARCHIVE, weights_only=True) must give a [ROWS, COLS] tensor of DTYPE
      (float32|bfloat16|float16) whose bits equal RAW (f32 little-endian) converted by torch's
      own .to(DTYPE); the zip CRCs must verify (zipfile.testzip).
  pickle PKL ROWS COLS
      the pickle alone (no storage): unpickled with stand-ins for the storage and the rebuild
      function, its arguments must be ('storage', FloatStorage, '0', 'cpu', ROWS*COLS), 0,
      (ROWS, COLS), (COLS, 1), False, OrderedDict().
"""
import collections
import io
import pickle
import sys
import zipfile

import torch


def check_save(archive, raw, dtype, rows, cols):
    with open(archive, "rb") as f:
        data = f.read()
    bad = zipfile.ZipFile(io.BytesIO(data)).testzip()
    if bad is not None:
        return f"zip CRC mismatch in {bad}"
    t = torch.load(io.BytesIO(data), weights_only=True, map_location=torch.device("cpu"))
    if not isinstance(t, torch.Tensor):
        return f"loaded a {type(t).__name__}, not a tensor"
    want = getattr(torch, dtype)
    if t.dtype != want or tuple(t.shape) != (rows, cols):
        return f"got {t.dtype} {tuple(t.shape)}, want {want} {(rows, cols)}"
    ref = torch.frombuffer(bytearray(open(raw, "rb").read()), dtype=torch.float32).reshape(rows, cols).to(want)
    ints = {torch.float32: torch.int32, torch.bfloat16: torch.int16, torch.float16: torch.int16}[want]
    if not torch.equal(t.contiguous().view(ints), ref.view(ints)):
        diff = (t.contiguous().view(ints) != ref.view(ints)).nonzero()[0].tolist()
        return f"bits differ first at {diff}"
    return "ok"


def check_pickle(pkl, rows, cols):
    seen = {}

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda *a: seen.setdefault("args", a)
            if (module, name) == ("torch", "FloatStorage"):
                return "FloatStorage"
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"global {module}.{name}")

        def persistent_load(self, pid):
            seen["pid"] = pid
            return "storage-object"

    with open(pkl, "rb") as f:
        U(f).load()
    want_pid = ("storage", "FloatStorage", "0", "cpu", rows * cols)
    want = ("storage-object", 0, (rows, cols), (cols, 1), False, collections.OrderedDict())
    if seen.get("pid") != want_pid or seen.get("args") != want:
        return f"got {seen}"
    return "ok"


def main():
    failed = 0
    for line in sys.stdin:
        a = line.split()
        try:
            if a[0] == "save":
                r = check_save(a[1], a[2], a[3], int(a[4]), int(a[5]))
            else:
                r = check_pickle(a[1], int(a[2]), int(a[3]))
        except Exception as e:  # a load error is a failed check, reported on its line
            r = f"{type(e).__name__}: {e}".replace("\n", " ")
        failed += r != "ok"
        print(r, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
