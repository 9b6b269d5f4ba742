#!/usr/bin/env python3
"""Independent numpy dequantisation of GGML block formats, written from the format description
(llama.cpp ggml-common.h block layouts; the formulas in lib/quant.h), sharing no code with the C
engine.  All arithmetic in float32, one rounding per operation, as the C code must do.

usage: ref_dequant.py TYPE IN.bin OUT.f32
TYPE: ggml type number (2 q4_0, 8 q8_0, 12 q4_K, 13 q5_K, 14 q6_K); IN.bin whole blocks.
"""
import sys
import numpy as np

F = np.float32
BLOCK = {2: (32, 18), 8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


def f16(col):
    """little-endian f16 bytes (uint8 [nb, 2]) -> float32 [nb, 1]"""
    return np.ascontiguousarray(col).view("<f2").astype(F).reshape(-1, 1)


def q4_0(b):
    d = f16(b[:, 0:2])
    qs = b[:, 2:18].astype(np.int32)
    q = np.concatenate([(qs & 15) - 8, (qs >> 4) - 8], axis=1).astype(F)
    return q * d


def q8_0(b):
    d = f16(b[:, 0:2])
    return d * b[:, 2:34].view(np.int8).astype(F)


def scales_mins(s):
    """12 bytes -> 8 six-bit scales and 8 six-bit mins per block"""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    mn = np.empty_like(sc)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc.astype(F), mn.astype(F)


def qk45(b, five):
    d, dmin = f16(b[:, 0:2]), f16(b[:, 2:4])
    sc, mn = scales_mins(b[:, 4:16])
    qh = b[:, 16:48].astype(np.int32) if five else None
    qs = b[:, 48:176].astype(np.int32) if five else b[:, 16:144].astype(np.int32)
    nb = b.shape[0]
    q = np.empty((nb, 256), np.int32)
    for c in range(4):                    # 64-element chunk c: sub-blocks 2c (low nibbles), 2c+1 (high)
        chunk = qs[:, 32 * c:32 * c + 32]
        lo, hi = chunk & 15, chunk >> 4
        if five:
            lo = lo | (((qh >> (2 * c)) & 1) << 4)
            hi = hi | (((qh >> (2 * c + 1)) & 1) << 4)
        q[:, 64 * c:64 * c + 32] = lo
        q[:, 64 * c + 32:64 * c + 64] = hi
    step = np.repeat(d * sc, 32, axis=1)  # float32 products d*sc, dmin*m
    off = np.repeat(dmin * mn, 32, axis=1)
    return step * q.astype(F) - off


def q6_k(b):
    ql, qh = b[:, 0:128].astype(np.int32), b[:, 128:192].astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(F)
    d = f16(b[:, 208:210])
    nb = b.shape[0]
    q = np.empty((nb, 256), np.int32)
    for n in range(2):                    # halves of 128: ql 64 bytes, qh 32 bytes each
        L, H, o = ql[:, 64 * n:64 * n + 64], qh[:, 32 * n:32 * n + 32], 128 * n
        q[:, o + 0:o + 32] = (L[:, 0:32] & 15) | ((H & 3) << 4)
        q[:, o + 32:o + 64] = (L[:, 32:64] & 15) | (((H >> 2) & 3) << 4)
        q[:, o + 64:o + 96] = (L[:, 0:32] >> 4) | (((H >> 4) & 3) << 4)
        q[:, o + 96:o + 128] = (L[:, 32:64] >> 4) | (((H >> 6) & 3) << 4)
    step = np.repeat(d * sc, 16, axis=1)  # element e uses scale e // 16
    return step * (q - 32).astype(F)


def dequant(raw, typ):
    be, bs = BLOCK[typ]
    b = np.frombuffer(raw, dtype=np.uint8)
    assert b.size % bs == 0, "not whole blocks"
    b = b.reshape(-1, bs)
    f = {2: q4_0, 8: q8_0, 12: lambda x: qk45(x, False), 13: lambda x: qk45(x, True), 14: q6_k}[typ]
    with np.errstate(all="ignore"):
        return f(b).astype(F).reshape(-1)


def main():
    typ = int(sys.argv[1])
    with open(sys.argv[2], "rb") as fh:
        raw = fh.read()
    dequant(raw, typ).astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
