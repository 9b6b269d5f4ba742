#!/usr/bin/python3
"""random_hf_model.py OUT_DIR TOKENIZER_DIR — a tiny random-weight Llama model in Hugging Face
layout (config.json, model.safetensors, tokenizer.json and tokenizer_config.json with the chat
template of SmolLM2-Instruct) using a real tokenizer, for end-to-end tests of prompt building.
The weights are tests/ref/random_hf.py's for that config.json (seed 0)."""
import json
import os
import shutil
import subprocess
import sys

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
with open(os.path.join(out, "config.json"), "w") as f:   # closed before random_hf.py reads it
    json.dump(cfg, f)
tmpl = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
        "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\n' }}{% endif %}")
json.dump({"chat_template": tmpl, "add_bos_token": False, "bos_token": "<|im_start|>",
           "eos_token": "<|im_end|>"}, open(os.path.join(out, "tokenizer_config.json"), "w"))
subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref", "random_hf.py"),
                out, "0"], check=True)
