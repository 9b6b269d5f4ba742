#!/usr/bin/python3
"""ref_forward.py — independent numpy (float64) forward pass of a Llama-family model.

Shares no code with the C engine: parses GGUF and safetensors itself, dequantizes F16/BF16/Q8_0
itself, implements RMSNorm / RoPE (default, linear, llama3, yarn, llama.cpp rope_freqs) / GQA
attention with sliding windows / SwiGLU / GeGLU / Gemma 3 (norms, scales, local layers) / LoRA
from their definitions (HF transformers' config semantics for a Hugging Face directory,
llama.cpp's for GGUF).

usage: ref_forward.py MODEL CASE.gguf OUT.f32
MODEL: a GGUF file, or a Hugging Face directory (config.json, model.safetensors).

CASE.gguf (written by tests/unit/test_forward_ref.c) holds the batch:
  test.seq_len   i32 array: independent sequences laid end to end, each from position 0
  test.ids       i32 array (token ids)          -- or --
  tensor test.embd [n_tokens, dim]             (input embeddings instead of ids)
  test.lora_scale f32, tensors lora.L.T.A [r, in] / lora.L.T.B [out, r]  (T: q k v o gate up down)
  test.greedy    i32 (optional): then continue the (single) sequence greedily that many tokens
OUT.f32 gets float32 little-endian: logits [n_tokens, vocab], then the final-normed states
[n_tokens, dim], then the residual stream [n_layers+1, n_tokens, dim]; with test.greedy, then
the greedy ids (as float32) and the smallest top-1/top-2 logit margin met on the way.
RoPE convention: GGUF "llama" files rotate interleaved pairs (llama.cpp permutes Q/K rows when
converting); "qwen2"/"qwen3" rotate halves (NEOX), as llama.cpp does.
"""
import json
import os
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
        if typ == 30:
            BF16.add(id(tensors[name]))
    return kv, tensors


# ids of the weight arrays stored as bf16: products with them take activations rounded to bf16
# (round to nearest even from float32, subnormals to zero), as llama.cpp and the engine do
BF16 = set()


def bf16_act(h, w):
    if id(w) not in BF16:
        return h
    u = h.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    r = np.where((u & 0x7F800000) == 0, u & 0x80000000, r)
    return r.astype(np.uint32).view(np.float32).astype(np.float64)


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


def read_safetensors(path):
    data = open(path, "rb").read()
    hl = struct.unpack_from("<Q", data, 0)[0]
    hdr = json.loads(data[8:8 + hl])
    base, out, dtypes = 8 + hl, {}, {}
    for name, e in hdr.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = data[base + a:base + b]
        if e["dtype"] == "F32":
            v = np.frombuffer(raw, "<f4").astype(np.float64)
        elif e["dtype"] == "F16":
            v = f16(raw)
        elif e["dtype"] == "BF16":
            v = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            raise ValueError("dtype " + e["dtype"])
        out[name] = v.reshape(e["shape"])
        if e["dtype"] == "BF16":
            BF16.add(id(out[name]))
        dtypes[name] = e["dtype"]
    return out, dtypes


def rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


# ---- RoPE frequencies, from the definitions ----

def inv_default(theta, hd):
    return theta ** (-np.arange(0, hd, 2) / hd)


def inv_llama3(inv, factor, lo_f, hi_f, orig):
    """Llama 3.1: long wavelengths (> orig/lo_f) slowed by factor, short (< orig/hi_f) kept,
    smooth interpolation between."""
    out = inv.copy()
    for i, f in enumerate(inv):
        wl = 2 * np.pi / f
        if wl < orig / hi_f:
            continue
        if wl > orig / lo_f:
            out[i] = f / factor
        else:
            t = (orig / wl - lo_f) / (hi_f - lo_f)
            out[i] = (1 - t) * f / factor + t * f
    return out


def inv_yarn(theta, hd, factor, orig, beta_fast, beta_slow):
    """YaRN (arXiv 2309.00071): pairs turning more than beta_fast times over the original context
    keep their frequency, fewer than beta_slow are interpolated (/factor), linear ramp between."""
    def turns_dim(rot):   # the dimension whose wavelength gives `rot` turns over orig positions
        return hd * np.log(orig / (rot * 2 * np.pi)) / (2 * np.log(theta))
    lo = max(np.floor(turns_dim(beta_fast)), 0)
    hi = min(np.ceil(turns_dim(beta_slow)), hd - 1)
    if lo == hi:
        hi += 0.001
    base = inv_default(theta, hd)
    keep = 1 - np.clip((np.arange(hd // 2) - lo) / (hi - lo), 0, 1)
    return base / factor * (1 - keep) + base * keep


class Model:
    pass


def model_from_gguf(path):
    kv, W = read_gguf(path)
    arch = kv["general.architecture"]
    g = lambda k, d=None: kv.get(arch + "." + k, d)
    m = Model()
    m.W, m.arch = W, arch
    m.dim, m.L = g("embedding_length"), g("block_count")
    m.H, m.KV = g("attention.head_count"), g("attention.head_count_kv", g("attention.head_count"))
    m.hd = g("attention.key_length", m.dim // m.H)
    m.eps, theta = g("attention.layer_norm_rms_epsilon"), g("rope.freq_base", 10000.0)
    m.interleaved = arch == "llama"   # llama.cpp permutes Q/K of llama only
    inv, m.mscale = inv_default(theta, m.hd), 1.0
    st = g("rope.scaling.type", "none")
    if st == "linear":
        inv = inv / g("rope.scaling.factor")
    elif st == "yarn":
        f = g("rope.scaling.factor")
        inv = inv_yarn(theta, m.hd, f, g("rope.scaling.original_context_length"),
                       g("rope.scaling.yarn_beta_fast", 32.0), g("rope.scaling.yarn_beta_slow", 1.0))
        m.mscale = g("rope.scaling.attn_factor", 1.0) * (1 + 0.1 * np.log(f))   # ggml's rope_yarn
    else:
        assert st == "none", st
    if "rope_freqs.weight" in W:
        inv = inv / W["rope_freqs.weight"]
    m.inv = inv
    m.inv_local, m.mscale_local = inv, m.mscale
    sw = g("attention.sliding_window", 0)
    pat = g("attention.sliding_window_pattern")
    if pat is not None:
        local = [bool(b) for b in pat]
    elif arch == "gemma3":
        local = [(l + 1) % 6 != 0 for l in range(m.L)]
    else:
        local = [True] * m.L
    m.window = [sw if (sw and local[l]) else 0 for l in range(m.L)]
    m.act, m.post_norms, m.embd_scale, m.attn_scale = "silu", False, 1.0, 1 / np.sqrt(m.hd)
    if arch == "gemma3":   # llama.cpp: norms stored with +1 folded in, sqrt(n_embd) in f32
        m.act, m.post_norms = "gelu_tanh", True
        m.embd_scale = float(np.float32(np.sqrt(np.float32(m.dim))))
        m.attn_scale = 1 / np.sqrt(m.dim // m.H if m.L == 62 else m.hd)
        m.inv_local, m.mscale_local = inv_default(g("rope.freq_base_swa", 10000.0), m.hd), 1.0
    return m


def rope_from_hf(cfg, theta, hd):
    rs = cfg.get("rope_parameters") or cfg.get("rope_scaling")
    if cfg.get("rope_parameters"):
        theta = rs.get("rope_theta", theta)
    inv = inv_default(theta, hd)
    if not rs:
        return inv, 1.0
    t = rs.get("rope_type", rs.get("type"))
    if t == "default":
        return inv, 1.0
    if t == "linear":
        return inv / rs["factor"], 1.0
    if t == "llama3":
        return inv_llama3(inv, rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"],
                          rs["original_max_position_embeddings"]), 1.0
    if t == "yarn":
        f = rs["factor"]
        orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        af = rs.get("attention_factor")
        if af is None:
            af = 0.1 * np.log(f) + 1 if f > 1 else 1.0
        return inv_yarn(theta, hd, f, orig, rs.get("beta_fast") or 32, rs.get("beta_slow") or 1), af
    raise ValueError("rope type " + str(t))


def model_from_hf(d):
    top = json.load(open(os.path.join(d, "config.json")))
    W0, dtypes = read_safetensors(os.path.join(d, "model.safetensors"))
    cls = top["architectures"][0]
    gemma = cls.startswith("Gemma3")
    cfg = top.get("text_config", top) if cls == "Gemma3ForConditionalGeneration" else top
    gd = {"hidden_size": 2304, "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
          "head_dim": 256, "rms_norm_eps": 1e-6, "rope_theta": 1e6, "query_pre_attn_scalar": 256,
          "sliding_window": 4096, "rope_local_base_freq": 10000.0, "sliding_window_pattern": 6,
          "max_position_embeddings": 131072} if gemma else {"rms_norm_eps": 1e-6, "rope_theta": 10000.0}
    c = lambda k: cfg.get(k) if cfg.get(k) is not None else gd.get(k)
    m = Model()
    m.arch = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
              "Qwen3ForCausalLM": "qwen3"}.get(cls, "gemma3")
    m.dim, m.L, m.H = c("hidden_size"), c("num_hidden_layers"), c("num_attention_heads")
    m.KV = c("num_key_value_heads") or m.H
    m.hd = c("head_dim") or m.dim // m.H
    m.eps, m.interleaved = c("rms_norm_eps"), False
    m.inv, m.mscale = rope_from_hf(cfg, c("rope_theta"), m.hd)
    m.inv_local, m.mscale_local = m.inv, m.mscale
    # which layers slide
    sw = c("sliding_window") or 0
    if m.arch in ("qwen2", "qwen3"):
        if not cfg.get("use_sliding_window"):
            sw = 0
        mwl = cfg.get("max_window_layers", m.L)
        local = [l >= mwl for l in range(m.L)]
    elif m.arch == "gemma3":
        local = [(l + 1) % c("sliding_window_pattern") != 0 for l in range(m.L)]
    else:
        local = [m.arch == "mistral"] * m.L
    if cfg.get("layer_types"):
        local = [t == "sliding_attention" for t in cfg["layer_types"]]
    m.window = [sw if (sw and local[l]) else 0 for l in range(m.L)]
    m.act, m.post_norms, m.embd_scale, m.attn_scale = "silu", False, 1.0, 1 / np.sqrt(m.hd)
    # weights under GGUF names (the C engine's too, but mapped here independently)
    W = {}
    pre = "model."
    for k in W0:
        for p in ("model.language_model.", "language_model.model."):
            if k.startswith(p):
                pre = p
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
             "self_attn.k_norm": "attn_k_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down",
             "post_attention_layernorm": "post_attention_norm" if gemma else "ffn_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm"}
    for k, v in W0.items():
        if not k.startswith(pre) and "lm_head" not in k:
            continue
        if "lm_head" in k:
            W["output.weight"] = v
            continue
        r = k[len(pre):]
        if r == "embed_tokens.weight":
            W["token_embd.weight"] = v
            m.embd_dtype = dtypes[k]
        elif r == "norm.weight":
            W["output_norm.weight"] = v
        else:
            _, l, rest = r.split(".", 2)
            mod, kind = rest.rsplit(".", 1)
            W["blk.%s.%s.%s" % (l, names[mod], kind)] = v
    if "token_embd.weight" not in W:
        W["token_embd.weight"] = W["output.weight"]
    if gemma:   # Gemma3RMSNorm: x * (1 + w); embeddings * sqrt(hidden) in the embedding dtype
        for k in list(W):
            if k.endswith("norm.weight"):
                W[k] = 1 + W[k]
        m.act, m.post_norms = "gelu_tanh", True
        s = np.float32(np.sqrt(m.dim))
        if m.embd_dtype == "BF16":
            s = (np.array([s], np.float32).view(np.uint32) + 0x7FFF + ((np.array([s], np.float32).view(np.uint32) >> 16) & 1)) >> 16 << 16
            s = s.astype(np.uint32).view(np.float32)[0]
        m.embd_scale = float(s)
        m.attn_scale = c("query_pre_attn_scalar") ** -0.5
        m.inv_local, m.mscale_local = inv_default(c("rope_local_base_freq"), m.hd), 1.0
    m.W = W
    return m


def rope(x, pos, inv, mscale, interleaved):
    """x [n, heads, hd]; rotate pair i by pos * inv[i]; cos/sin times mscale."""
    hd = x.shape[-1]
    ang = pos[:, None] * inv[None, :]                                 # [n, hd/2]
    c, s = mscale * np.cos(ang)[:, None, :], mscale * np.sin(ang)[:, None, :]
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


def attention(q, k, v, H, KV, scale, window):
    """Causal GQA; with window w, query i sees keys i-w+1 .. i.  Blocks of queries bound memory."""
    n, hd = q.shape[0], q.shape[2]
    att = np.empty((n, H, hd))
    for i0 in range(0, n, 256):
        i1 = min(n, i0 + 256)
        qi = np.arange(i0, i1)[:, None]
        kj = np.arange(n)[None, :]
        mask = (kj > qi) | ((kj <= qi - window) if window else False)
        for hh in range(H):
            kvh = hh // (H // KV)
            s = q[i0:i1, hh] @ k[:, kvh].T * scale
            s[mask] = -np.inf
            p = np.exp(s - s.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            att[i0:i1, hh] = p @ v[:, kvh]
    return att


def forward(m, x, C, lscale, keep=True):
    """x [n, dim] input embeddings of one sequence from position 0."""
    W, n = m.W, x.shape[0]
    H, KV, hd, eps = m.H, m.KV, m.hd, m.eps

    def proj(l, t, wname, h):
        w = W["blk.%d.%s" % (l, wname)]
        y = bf16_act(h, w) @ w.T
        a = C.get("lora.%d.%s.A" % (l, t))
        if a is not None:
            y = y + lscale * (h @ a.T) @ C["lora.%d.%s.B" % (l, t)].T
        return y

    h0 = x.astype(np.float64)
    pos = np.arange(n, dtype=np.float64)
    res = [h0]
    for l in range(m.L):
        b = "blk.%d." % l
        h = rmsnorm(h0, W[b + "attn_norm.weight"], eps)
        q, k, v = proj(l, "q", "attn_q.weight", h), proj(l, "k", "attn_k.weight", h), proj(l, "v", "attn_v.weight", h)
        if b + "attn_q.bias" in W:
            q, k, v = q + W[b + "attn_q.bias"], k + W[b + "attn_k.bias"], v + W[b + "attn_v.bias"]
        q, k, v = q.reshape(n, H, hd), k.reshape(n, KV, hd), v.reshape(n, KV, hd)
        if b + "attn_q_norm.weight" in W:
            q = rmsnorm(q, W[b + "attn_q_norm.weight"], eps)
            k = rmsnorm(k, W[b + "attn_k_norm.weight"], eps)
        local = m.window[l] > 0
        inv, ms = (m.inv_local, m.mscale_local) if local else (m.inv, m.mscale)
        q, k = rope(q, pos, inv, ms, m.interleaved), rope(k, pos, inv, ms, m.interleaved)
        att = attention(q, k, v, H, KV, m.attn_scale, m.window[l])
        o = proj(l, "o", "attn_output.weight", att.reshape(n, H * hd))
        if m.post_norms:
            o = rmsnorm(o, W[b + "post_attention_norm.weight"], eps)
        h0 = h0 + o
        h = rmsnorm(h0, W[b + "ffn_norm.weight"], eps)
        gt, up = proj(l, "gate", "ffn_gate.weight", h), proj(l, "up", "ffn_up.weight", h)
        if m.act == "silu":
            a = gt / (1 + np.exp(-gt))
        else:   # gelu, tanh approximation
            a = 0.5 * gt * (1 + np.tanh(np.sqrt(2 / np.pi) * (gt + 0.044715 * gt ** 3)))
        d = proj(l, "down", "ffn_down.weight", a * up)
        if m.post_norms:
            d = rmsnorm(d, W[b + "post_ffw_norm.weight"], eps)
        h0 = h0 + d
        if keep:
            res.append(h0)
    f = rmsnorm(h0, W["output_norm.weight"], eps)
    out_w = W.get("output.weight", W["token_embd.weight"])
    return bf16_act(f, out_w) @ out_w.T, f, (np.stack(res) if keep else None)


def main():
    m = model_from_hf(sys.argv[1]) if os.path.isdir(sys.argv[1]) else model_from_gguf(sys.argv[1])
    ckv, C = read_gguf(sys.argv[2])
    emb = m.W["token_embd.weight"]
    seq_len = ckv["test.seq_len"]
    if "test.embd" in C:
        x = C["test.embd"]
    else:
        x = emb[np.array(ckv["test.ids"], dtype=np.int64)] * m.embd_scale
    lscale = ckv.get("test.lora_scale", 0.0)
    logits, finals, layers = [], [], []
    t0 = 0
    for n in seq_len:
        lg, f, r = forward(m, x[t0:t0 + n], C, lscale)
        t0 += n
        logits.append(lg)
        finals.append(f)
        layers.append(r)
    greedy, margin = [], np.inf
    if ckv.get("test.greedy"):
        assert len(seq_len) == 1 and "test.embd" not in C
        ids = list(ckv["test.ids"])
        last = logits[0][-1]
        for _ in range(ckv["test.greedy"]):
            top = np.sort(last)[-2:]
            margin = min(margin, (top[1] - top[0]) / np.abs(last).max())
            ids.append(int(np.argmax(last)))
            greedy.append(ids[-1])
            lg, _, _ = forward(m, emb[np.array(ids, dtype=np.int64)] * m.embd_scale, C, lscale, keep=False)
            last = lg[-1]
    with open(sys.argv[3], "wb") as fo:
        fo.write(np.concatenate(logits).astype("<f4").tobytes())
        fo.write(np.concatenate(finals).astype("<f4").tobytes())
        fo.write(np.concatenate(layers, axis=1).astype("<f4").tobytes())
        if greedy:
            fo.write(np.array(greedy + [margin], dtype="<f4").tobytes())


if __name__ == "__main__":
    assert len(sys.argv) == 4, __doc__
    main()
