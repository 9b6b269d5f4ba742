#!/usr/bin/python3
"""ref_forward.py — independent numpy (float64) forward pass of a Llama-family GGUF model.

Shares no code with the C engine: parses GGUF itself, dequantizes F16/BF16/Q8_0 itself,
implements RMSNorm / RoPE / GQA attention / SwiGLU / LoRA from their definitions.

usage: ref_forward.py MODEL.gguf CASE.gguf OUT.f32

CASE.gguf (written by tests/unit/test_forward_ref.c) holds the batch:
  test.seq_len   i32 array: independent sequences laid end to end, each from position 0
  test.ids       i32 array (token ids)          -- or --
  tensor test.embd [n_tokens, dim]             (input embeddings instead of ids)
  test.lora_scale f32, tensors lora.L.T.A [r, in] / lora.L.T.B [out, r]  (T: q k v o gate up down)
OUT.f32 gets float32 little-endian: logits [n_tokens, vocab], then the final-normed states
[n_tokens, dim], then the residual stream [n_layers+1, n_tokens, dim].
RoPE convention: GGUF "llama" files rotate interleaved pairs (llama.cpp permutes Q/K rows when
converting); "qwen2"/"qwen3" rotate halves (NEOX), as llama.cpp does.
"""
import struct
import sys

import numpy as np

import ref_dequant


class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.d, self.o)
        self.o += struct.calcsize("<" + fmt)
        return v[0]

    def string(self):
        n = self.take("Q")
        s = self.d[self.o:self.o + n]
        self.o += n
        return s.decode("utf-8", "replace")

    SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(self, t):
        if t in self.SCALAR:
            return self.take(self.SCALAR[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("I"), self.take("Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError("bad gguf value type %d" % t)


def read_gguf(path):
    data = open(path, "rb").read()
    r = Reader(data)
    assert data[:4] == b"GGUF", path + ": not GGUF"
    r.o = 4
    version = r.take("I")
    assert version in (2, 3)
    n_t, n_kv = r.take("Q"), r.take("Q")
    kv = {}
    for _ in range(n_kv):
        k = r.string()
        kv[k] = r.value(r.take("I"))
    infos = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take("I")
        dims = [r.take("Q") for _ in range(nd)]
        infos.append((name, dims[::-1], r.take("I"), r.take("Q")))   # shape outermost first
    align = kv.get("general.alignment", 32)
    base = (r.o + align - 1) // align * align
    tensors = {}
    for name, shape, typ, off in infos:
        n = int(np.prod(shape))
        p = base + off
        tensors[name] = dequant(data, p, typ, n).reshape(shape)
    return kv, tensors


def f16(raw):
    return np.frombuffer(raw, dtype="<f2").astype(np.float64)


def dequant(data, p, typ, n):
    if typ == 0:
        return np.frombuffer(data, "<f4", n, p).astype(np.float64)
    if typ == 1:
        return f16(data[p:p + 2 * n])
    if typ == 30:   # bf16: the top 16 bits of an f32
        u = np.frombuffer(data, "<u2", n, p).astype(np.uint32) << 16
        return u.view(np.float32).astype(np.float64)
    if typ == 8:    # Q8_0: blocks of (f16 scale, 32 x int8)
        nb = n // 32
        blk = np.frombuffer(data, np.uint8, nb * 34, p).reshape(nb, 34)
        d = f16(blk[:, :2].tobytes())
        q = blk[:, 2:].view(np.int8).astype(np.float64)
        return (q * d[:, None]).reshape(n)
    if typ == 26:   # I32 (test inputs)
        return np.frombuffer(data, "<i4", n, p).astype(np.float64)
    if typ in ref_dequant.BLOCK:   # q4_0, q4_K, q5_K, q6_K: the independent block decoder
        be, bs = ref_dequant.BLOCK[typ]
        return ref_dequant.dequant(data[p:p + n // be * bs], typ).astype(np.float64)
    raise ValueError("dtype %d not supported by the reference" % typ)


def rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, theta, interleaved):
    """x [n, heads, hd]; rotate pair i by pos * theta^(-2i/hd)."""
    hd = x.shape[-1]
    ang = pos[:, None] * theta ** (-np.arange(0, hd, 2) / hd)       # [n, hd/2]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., :hd // 2], x[..., hd // 2:]
    ra, rb = a * c - b * s, a * s + b * c
    out = np.empty_like(x)
    if interleaved:
        out[..., 0::2], out[..., 1::2] = ra, rb
    else:
        out[..., :hd // 2], out[..., hd // 2:] = ra, rb
    return out


def main():
    kv, W = read_gguf(sys.argv[1])
    ckv, C = read_gguf(sys.argv[2])
    arch = kv["general.architecture"]
    g = lambda k, d=None: kv.get(arch + "." + k, d)
    dim, L = g("embedding_length"), g("block_count")
    H, KV = g("attention.head_count"), g("attention.head_count_kv", g("attention.head_count"))
    hd = g("attention.key_length", dim // H)
    eps, theta = g("attention.layer_norm_rms_epsilon"), g("rope.freq_base", 10000.0)
    inter = arch == "llama"
    emb = W["token_embd.weight"]
    out_w = W.get("output.weight", emb)
    seq_len = ckv["test.seq_len"]
    x = C["test.embd"] if "test.embd" in C else emb[np.array(ckv["test.ids"], dtype=np.int64)]
    lscale = ckv.get("test.lora_scale", 0.0)

    def proj(l, t, wname, h):
        y = h @ W["blk.%d.%s" % (l, wname)].T
        a = C.get("lora.%d.%s.A" % (l, t))
        if a is not None:
            y = y + lscale * (h @ a.T) @ C["lora.%d.%s.B" % (l, t)].T
        return y

    logits, finals, layers = [], [], []
    t0 = 0
    for n in seq_len:
        h0 = x[t0:t0 + n].astype(np.float64)
        t0 += n
        pos = np.arange(n, dtype=np.float64)
        res = [h0]
        for l in range(L):
            b = "blk.%d." % l
            h = rmsnorm(h0, W[b + "attn_norm.weight"], eps)
            q, k, v = proj(l, "q", "attn_q.weight", h), proj(l, "k", "attn_k.weight", h), proj(l, "v", "attn_v.weight", h)
            if b + "attn_q.bias" in W:
                q, k, v = q + W[b + "attn_q.bias"], k + W[b + "attn_k.bias"], v + W[b + "attn_v.bias"]
            q, k, v = q.reshape(n, H, hd), k.reshape(n, KV, hd), v.reshape(n, KV, hd)
            if b + "attn_q_norm.weight" in W:
                q = rmsnorm(q, W[b + "attn_q_norm.weight"], eps)
                k = rmsnorm(k, W[b + "attn_k_norm.weight"], eps)
            q, k = rope(q, pos, theta, inter), rope(k, pos, theta, inter)
            att = np.empty((n, H, hd))
            mask = np.triu(np.ones((n, n), bool), 1)
            for hh in range(H):
                kvh = hh // (H // KV)
                s = q[:, hh] @ k[:, kvh].T / np.sqrt(hd)
                s[mask] = -np.inf
                p = np.exp(s - s.max(-1, keepdims=True))
                p /= p.sum(-1, keepdims=True)
                att[:, hh] = p @ v[:, kvh]
            h0 = h0 + proj(l, "o", "attn_output.weight", att.reshape(n, H * hd))
            h = rmsnorm(h0, W[b + "ffn_norm.weight"], eps)
            gt, up = proj(l, "gate", "ffn_gate.weight", h), proj(l, "up", "ffn_up.weight", h)
            h0 = h0 + proj(l, "down", "ffn_down.weight", gt / (1 + np.exp(-gt)) * up)
            res.append(h0)
        f = rmsnorm(h0, W["output_norm.weight"], eps)
        finals.append(f)
        logits.append(f @ out_w.T)
        layers.append(np.stack(res))
    with open(sys.argv[3], "wb") as fo:
        fo.write(np.concatenate(logits).astype("<f4").tobytes())
        fo.write(np.concatenate(finals).astype("<f4").tobytes())
        fo.write(np.concatenate(layers, axis=1).astype("<f4").tobytes())


if __name__ == "__main__":
    assert len(sys.argv) == 4, __doc__
    main()
