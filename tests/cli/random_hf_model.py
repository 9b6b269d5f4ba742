#!/usr/bin/python3
"""random_hf_model.py OUT_DIR TOKENIZER_DIR — a tiny random-weight Llama model in Hugging Face
layout (config.json, model.safetensors, tokenizer.json and tokenizer_config.json with the chat
template of SmolLM2-Instruct) using a real tokenizer, for end-to-end tests of prompt building."""
import json
import os
import shutil
import struct
import sys

import numpy as np

out, tokdir = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
shutil.copy(os.path.join(tokdir, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
vocab = json.load(open(os.path.join(tokdir, "config.json")))["vocab_size"]
dim, ffn, layers, heads = 32, 64, 1, 2
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
       "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
       "num_key_value_heads": heads, "vocab_size": vocab, "rms_norm_eps": 1e-5,
       "rope_theta": 10000.0, "max_position_embeddings": 256, "tie_word_embeddings": True,
       "bos_token_id": 1, "eos_token_id": 2}
json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
tmpl = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
        "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\n' }}{% endif %}")
json.dump({"chat_template": tmpl, "add_bos_token": False, "bos_token": "<|im_start|>",
           "eos_token": "<|im_end|>"}, open(os.path.join(out, "tokenizer_config.json"), "w"))
rng = np.random.default_rng(0)
t = {"model.embed_tokens.weight": (vocab, dim), "model.norm.weight": (dim,)}
for l in range(layers):
    p = "model.layers.%d." % l
    t.update({p + "input_layernorm.weight": (dim,), p + "post_attention_layernorm.weight": (dim,),
              p + "self_attn.q_proj.weight": (dim, dim), p + "self_attn.k_proj.weight": (dim, dim),
              p + "self_attn.v_proj.weight": (dim, dim), p + "self_attn.o_proj.weight": (dim, dim),
              p + "mlp.gate_proj.weight": (ffn, dim), p + "mlp.up_proj.weight": (ffn, dim),
              p + "mlp.down_proj.weight": (dim, ffn)})
header, blobs, off = {}, [], 0
for name, shape in t.items():
    a = (rng.standard_normal(shape) * 0.1).astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(a)]}
    blobs.append(a)
    off += len(a)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
