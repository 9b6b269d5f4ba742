#!/usr/bin/env python3
"""Independent numpy reference for products with bf16 weights (lib/mat_bf16.h), sharing no code
with the C engine: activations rounded to bf16 (round to nearest even, subnormals to signed zero),
times the bf16 weights, summed in float64.

usage: ref_bf16_gemm.py M N K A.f32 W.bf16 OUT.f64
A: M x K little-endian float32; W: N x K little-endian bf16 bits.  OUT: 2 x M x N float64, the
product sum_k a_bf16[m,k] w[n,k] and the magnitude sum_k |a_bf16[m,k] w[n,k]|.
"""
import sys
import numpy as np


def bf16_round(a):
    u = a.view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    sub = (u & 0x7F800000) == 0
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    r = np.where(nan, (u >> 16) | 0x40, r)
    r = np.where(sub, (u >> 16) & 0x8000, r)
    return bf16_to_f64(r.astype(np.uint32))


def bf16_to_f64(h):
    h = h.astype(np.uint32)
    h = np.where((h & 0x7F80) == 0, h & 0x8000, h)   # subnormal weights read as zero, as vdpbf16ps
    return (h << 16).astype(np.uint32).view(np.float32).astype(np.float64)


def main():
    m, n, k = (int(x) for x in sys.argv[1:4])
    a = np.fromfile(sys.argv[4], dtype="<f4").reshape(m, k)
    w = bf16_to_f64(np.fromfile(sys.argv[5], dtype="<u2").reshape(n, k))
    ab = bf16_round(a)
    out = np.stack([ab @ w.T, np.abs(ab) @ np.abs(w).T])
    out.astype("<f8").tofile(sys.argv[6])


if __name__ == "__main__":
    main()
