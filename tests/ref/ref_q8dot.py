#!/usr/bin/env python3
"""Independent numpy version of the integer products of lib/mat_q8.h, sharing no code with the C
engine: activation rows quantised as llama.cpp's quantize_row_q8_0_ref (blocks of 32, f16 scale,
roundf) or quantize_row_q8_K_ref (blocks of 256, iscale = -128/max, nearest-even, min 127), where
1/d or -128/max overflows (max |x| below ~3.7e-37) as lib/mat_q8.h says (q8_0: q = 0; q8_K: the
block times 2^64, d scaled back), exact integer block dot products, and the float sequence per output entry (blocks in order, acc = 0):
  q8_0/q4_0:  acc = fma(isum, dw*da, acc)
  q4_K/q5_K:  acc = fma(sumi, d*da, acc); acc = fma(summ, -(dmin*da), acc)
  q6_K:       acc = fma(sumi, d*da, acc)
fma is emulated exactly: the product of two float32 is exact in float64, the float64 sum is made
round-to-odd with TwoSum, and rounding that to float32 is then a single correct rounding.

usage: ref_q8dot.py TYPE W.bin A.f32 N K M OUT.f32   (C = A W^T, M x N float32)
TYPE: ggml type number (2 q4_0, 8 q8_0, 12 q4_K, 13 q5_K, 14 q6_K).
"""
import sys
import numpy as np

F = np.float32
BLOCK = {2: (32, 18), 8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


def f16(col):
    return np.ascontiguousarray(col).view("<f2").astype(F).reshape(-1)


def fma(x, y, acc):
    """float32 fma(x, y, acc), elementwise, correctly rounded"""
    p = x.astype(np.float64) * y.astype(np.float64)          # exact
    a = acc.astype(np.float64)
    s = p + a
    bp = s - a
    e = (p - bp) + (a - (s - bp))                            # TwoSum: s + e == p + a exactly
    bits = s.view(np.int64)
    odd_fix = (e != 0) & ((bits & 1) == 0)
    toward = np.where(e > 0, np.inf, -np.inf)
    s = np.where(odd_fix, np.nextafter(s, toward), s)       # round to odd
    return s.astype(F)


def weights_int(t, b):
    """blocks uint8 [nb, bytes] -> (q int64 [nb, be], per-block dict of scales)"""
    nb = b.shape[0]
    if t == 8:
        return b[:, 2:34].view(np.int8).astype(np.int64), {"d": f16(b[:, 0:2])}
    if t == 2:
        qs = b[:, 2:18].astype(np.int64)
        return np.concatenate([(qs & 15) - 8, (qs >> 4) - 8], axis=1), {"d": f16(b[:, 0:2])}
    if t in (12, 13):
        five = t == 13
        s = b[:, 4:16].astype(np.int64)
        sc = np.empty((nb, 8), np.int64)
        mn = np.empty_like(sc)
        sc[:, :4], mn[:, :4] = s[:, 0:4] & 63, s[:, 4:8] & 63
        sc[:, 4:] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
        mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
        qs = b[:, 48:176].astype(np.int64) if five else b[:, 16:144].astype(np.int64)
        qh = b[:, 16:48].astype(np.int64)
        q = np.empty((nb, 256), np.int64)
        for c in range(4):
            lo, hi = qs[:, 32 * c:32 * c + 32] & 15, qs[:, 32 * c:32 * c + 32] >> 4
            if five:
                lo = lo | (((qh >> (2 * c)) & 1) << 4)
                hi = hi | (((qh >> (2 * c + 1)) & 1) << 4)
            q[:, 64 * c:64 * c + 32], q[:, 64 * c + 32:64 * c + 64] = lo, hi
        return q, {"d": f16(b[:, 0:2]), "dmin": f16(b[:, 2:4]), "sc": sc, "m": mn}
    if t == 14:
        ql, qh = b[:, 0:128].astype(np.int64), b[:, 128:192].astype(np.int64)
        q = np.empty((nb, 256), np.int64)
        for n in range(2):
            L, H = ql[:, 64 * n:64 * n + 64], qh[:, 32 * n:32 * n + 32]
            q[:, 128 * n + 0:128 * n + 32] = (L[:, :32] & 15) | ((H & 3) << 4)
            q[:, 128 * n + 32:128 * n + 64] = (L[:, 32:] & 15) | (((H >> 2) & 3) << 4)
            q[:, 128 * n + 64:128 * n + 96] = (L[:, :32] >> 4) | (((H >> 4) & 3) << 4)
            q[:, 128 * n + 96:128 * n + 128] = (L[:, 32:] >> 4) | (((H >> 6) & 3) << 4)
        return q - 32, {"d": f16(b[:, 208:210]), "sc": b[:, 192:208].view(np.int8).astype(np.int64)}
    raise SystemExit("unknown type %d" % t)


def act_q8_0(x):
    """[M, K] float32 -> q int64 [M, K], d float32 [M, K/32]"""
    M, K = x.shape
    xb = x.reshape(M, K // 32, 32)
    amax = np.abs(xb).max(axis=2)
    d = (amax / F(127)).astype(F)
    with np.errstate(over="ignore"):
        idv = np.where(d != 0, F(1) / np.where(d != 0, d, F(1)), F(0)).astype(F)
    idv = np.where(np.isinf(idv), F(0), idv).astype(F)           # 1/d overflows: q = 0
    v = (xb * idv[:, :, None]).astype(F).astype(np.float64)
    q = np.trunc(v + np.copysign(0.5, v)).astype(np.int64)       # roundf: halves away from zero
    return q.reshape(M, K), d.astype(np.float16).astype(F)


def act_q8_k(x):
    M, K = x.shape
    xb = x.reshape(M, K // 256, 256)
    first = np.abs(xb).argmax(axis=2)                             # first of the largest |x|
    mx = np.take_along_axis(xb, first[:, :, None], axis=2)[:, :, 0]
    zero = mx == 0
    mx1 = np.where(zero, F(1), mx).astype(F)
    with np.errstate(over="ignore"):
        pre = np.where(np.isinf(F(-128) / mx1), F(2.0**64), F(1)).astype(F)   # tiny max: x 2^64
    iscale = np.where(zero, F(0), F(-128) / (mx1 * pre)).astype(F)
    q = np.rint(((xb * pre[:, :, None]).astype(F) * iscale[:, :, None]).astype(F)).astype(np.int64)
    q = np.minimum(q, 127)
    d = np.where(zero, F(0), (F(1) / np.where(zero, F(1), iscale)).astype(F) / pre).astype(F)
    return q.reshape(M, K), d


def main():
    t, wpath, apath, N, K, M, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7]), sys.argv[7]
    be, bb = BLOCK[t]
    nb = K // be
    W = np.fromfile(wpath, np.uint8).reshape(N * nb, bb)
    A = np.fromfile(apath, F).reshape(M, K)
    wq, S = weights_int(t, W)
    wq = wq.reshape(N, nb, be)
    aq, da = act_q8_k(A) if be == 256 else act_q8_0(A)
    aq = aq.reshape(M, nb, be)
    acc = np.zeros((M, N), F)
    for b in range(nb):
        ab, wb = aq[:, b, :], wq[:, b, :]
        dab = da[:, b][:, None]
        if be == 32:
            isum = ab @ wb.T
            dw = S["d"].reshape(N, nb)[:, b][None, :]
            acc = fma(isum.astype(F), (dw * dab).astype(F), acc)
        elif t == 14:
            sc = S["sc"].reshape(N, nb, 16)[:, b, :]
            sumi = np.zeros((M, N), np.int64)
            for g in range(16):
                sumi += (ab[:, 16 * g:16 * g + 16] @ wb[:, 16 * g:16 * g + 16].T) * sc[None, :, g]
            dw = S["d"].reshape(N, nb)[:, b][None, :]
            acc = fma(sumi.astype(F), (dw * dab).astype(F), acc)
        else:
            sc = S["sc"].reshape(N, nb, 8)[:, b, :]
            mn = S["m"].reshape(N, nb, 8)[:, b, :]
            sumi = np.zeros((M, N), np.int64)
            summ = np.zeros((M, N), np.int64)
            for j in range(8):
                sumi += (ab[:, 32 * j:32 * j + 32] @ wb[:, 32 * j:32 * j + 32].T) * sc[None, :, j]
                summ += ab[:, 32 * j:32 * j + 32].sum(axis=1)[:, None] * mn[None, :, j]
            dw = S["d"].reshape(N, nb)[:, b][None, :]
            dm = S["dmin"].reshape(N, nb)[:, b][None, :]
            acc = fma(sumi.astype(F), (dw * dab).astype(F), acc)
            acc = fma(summ.astype(F), (-(dm * dab)).astype(F), acc)
    acc.astype(F).tofile(out)


if __name__ == "__main__":
    main()
