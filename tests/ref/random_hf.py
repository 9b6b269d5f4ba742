#!/usr/bin/python3
"""random_hf.py DIR SEED [F32|BF16] — random weights for the Hugging Face model described by
DIR/config.json (llama, mistral, qwen2, qwen3, gemma3 text or multimodal layout), written as
DIR/model.safetensors: every tensor the architecture has, by its HF name, of its HF shape.
Norm gains are near 1 (Gemma: near 0, its RMSNorm multiplies by 1 + w); a Gemma 3 multimodal
checkpoint also gets a vision-tower tensor (which text models must skip)."""
import json
import os
import struct
import sys

import numpy as np

d, seed = sys.argv[1], int(sys.argv[2])
dtype = sys.argv[3] if len(sys.argv) > 3 else "F32"
top = json.load(open(os.path.join(d, "config.json")))
cls = top["architectures"][0]
mm = cls == "Gemma3ForConditionalGeneration"
c = top["text_config"] if mm else top
gemma = cls.startswith("Gemma3")
dim, L, H = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
KV = c.get("num_key_value_heads", H)
hd = c.get("head_dim") or dim // H
ffn, V = c["intermediate_size"], c["vocab_size"]
tied = top.get("tie_word_embeddings", c.get("tie_word_embeddings", gemma))
pre = "model.language_model." if mm else "model."
rng = np.random.default_rng(seed)
T = {}


def w(name, shape, scale):
    T[name] = rng.uniform(-1, 1, shape) * scale


def norm(name, n):
    T[name] = rng.uniform(-0.2, 0.2, n) + (0 if gemma else 1)


w(pre + "embed_tokens.weight", (V, dim), 0.15 if gemma else 1.0)   # Gemma: x sqrt(dim) inside
norm(pre + "norm.weight", dim)
if not tied:
    w("lm_head.weight", (V, dim), 0.5)
for l in range(L):
    p = "%slayers.%d." % (pre, l)
    norm(p + "input_layernorm.weight", dim)
    norm(p + "post_attention_layernorm.weight", dim)
    w(p + "self_attn.q_proj.weight", (H * hd, dim), 0.6)
    w(p + "self_attn.k_proj.weight", (KV * hd, dim), 0.6)
    w(p + "self_attn.v_proj.weight", (KV * hd, dim), 0.6)
    w(p + "self_attn.o_proj.weight", (dim, H * hd), 0.4)
    w(p + "mlp.gate_proj.weight", (ffn, dim), 0.5)
    w(p + "mlp.up_proj.weight", (ffn, dim), 0.5)
    w(p + "mlp.down_proj.weight", (dim, ffn), 0.4)
    if cls == "Qwen2ForCausalLM":
        for t, n in (("q", H * hd), ("k", KV * hd), ("v", KV * hd)):
            w(p + "self_attn.%s_proj.bias" % t, (n,), 0.5)
    if cls == "Qwen3ForCausalLM" or gemma:
        norm(p + "self_attn.q_norm.weight", hd)
        norm(p + "self_attn.k_norm.weight", hd)
    if gemma:
        norm(p + "pre_feedforward_layernorm.weight", dim)
        norm(p + "post_feedforward_layernorm.weight", dim)
if mm:
    w("vision_tower.vision_model.embeddings.patch_embedding.weight", (8, 3, 2, 2), 1.0)
    w("multi_modal_projector.mm_input_projection_weight", (8, dim), 1.0)

header, blobs, off = {}, [], 0
for name, a in T.items():
    f = a.astype("<f4")
    if dtype == "BF16":
        u = f.view(np.uint32).astype(np.uint64)
        b = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype("<u2").tobytes()
    else:
        b = f.tobytes()
    header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as fo:
    fo.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
