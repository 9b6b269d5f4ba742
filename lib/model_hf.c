/* model_hf.c — a Hugging Face model directory: config.json, model.safetensors (or shards listed
 * by model.safetensors.index.json), tokenizer.json, tokenizer_config.json (chat template).
 * HF tensor names are mapped to llama.cpp's GGUF names. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "model_file_int.h"

static int get_int(json_t *root, const char *path, const char *key, int *out, int dflt, int required) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required) return cl_fail("%s: %s missing", path, key);
        *out = dflt;
        return 0;
    }
    if (json_is_array(v) && json_array_size(v) > 0) v = json_array_get(v, 0); /* eos lists: the first */
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 1 << 30)
        return cl_fail("%s: %s is not a valid integer", path, key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int get_num(json_t *root, const char *path, const char *key, float *out, float dflt) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v)) return cl_fail("%s: %s is not a number", path, key);
    *out = (float)json_number_value(v);
    return 0;
}

static int get_bool(json_t *root, const char *path, const char *key, int *out, int dflt) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) return cl_fail("%s: %s is not a boolean", path, key);
    *out = json_is_true(v);
    return 0;
}

int cl_hf_config_load(const char *path, cl_config *c) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return cl_fail("%s: line %d: %s", path, je.line, je.text);
    memset(c, 0, sizeof *c);
    int rc = -1, arch = -1;
    json_t *archs = json_object_get(root, "architectures");
    const char *a0 = json_string_value(json_array_get(archs, 0));
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    static const char *const cls[] = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
    for (int i = 0; i < 3; i++)
        if (a0 && !strcmp(a0, cls[i])) arch = i;
    if (arch < 0 && mt) arch = cl_arch_from_name(mt);
    if (!json_is_object(root)) {
        cl_fail("%s: not a JSON object", path);
        goto out;
    }
    if (arch < 0) {
        cl_fail("%s: architecture %s (model_type %s) unsupported: llama, qwen2, qwen3 are", path, a0 ? a0 : "?",
                mt ? mt : "?");
        goto out;
    }
    c->arch = (cl_arch)arch;
    json_t *rs = json_object_get(root, "rope_scaling");
    if (rs && !json_is_null(rs)) {
        cl_fail("%s: rope_scaling is set: unsupported", path);
        goto out;
    }
    if (get_int(root, path, "hidden_size", &c->dim, 0, 1) || get_int(root, path, "num_hidden_layers", &c->n_layers, 0, 1) ||
        get_int(root, path, "num_attention_heads", &c->n_heads, 0, 1) ||
        get_int(root, path, "intermediate_size", &c->ffn_dim, 0, 1) || get_int(root, path, "vocab_size", &c->n_vocab, 0, 1) ||
        get_int(root, path, "num_key_value_heads", &c->n_kv_heads, c->n_heads, 0) ||
        get_int(root, path, "max_position_embeddings", &c->max_ctx, 2048, 0) ||
        get_int(root, path, "bos_token_id", &c->bos_id, -1, 0) || get_int(root, path, "eos_token_id", &c->eos_id, -1, 0) ||
        get_num(root, path, "rope_theta", &c->rope_theta, 10000.0f) ||
        get_num(root, path, "rms_norm_eps", &c->rms_eps, 1e-6f) ||
        get_bool(root, path, "tie_word_embeddings", &c->tied_embeddings, 0) ||
        get_bool(root, path, "attention_bias", &c->attn_bias, 0))
        goto out;
    if (c->n_heads <= 0 || c->dim <= 0) {
        cl_fail("%s: hidden_size and num_attention_heads must be positive", path);
        goto out;
    }
    json_t *hd = json_object_get(root, "head_dim");
    if (hd && !json_is_null(hd)) {
        if (get_int(root, path, "head_dim", &c->head_dim, 0, 1)) goto out;
    } else {
        if (c->dim % c->n_heads) {
            cl_fail("%s: hidden_size %d is not a multiple of num_attention_heads %d", path, c->dim, c->n_heads);
            goto out;
        }
        c->head_dim = c->dim / c->n_heads;
    }
    if (c->arch == CL_ARCH_QWEN2) c->attn_bias = 1;
    c->qk_norm = c->arch == CL_ARCH_QWEN3;
    c->rope_interleaved = 0;
    rc = cl_config_validate(c) ? cl_fail_prefix("%s", path) : 0;
out:
    json_decref(root);
    return rc;
}

/* HF name -> GGUF name; 0 = mapped, 1 = ignore, -1 = unknown. */
static int map_name(const char *hf, char *out, size_t cap) {
    static const char *const layer_map[][2] = {
        {"input_layernorm.weight", "attn_norm.weight"},     {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},       {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},  {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.bias", "attn_k.bias"},           {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"},  {"self_attn.k_norm.weight", "attn_k_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},            {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    if (!strcmp(hf, "model.embed_tokens.weight")) return snprintf(out, cap, "token_embd.weight"), 0;
    if (!strcmp(hf, "model.norm.weight")) return snprintf(out, cap, "output_norm.weight"), 0;
    if (!strcmp(hf, "lm_head.weight")) return snprintf(out, cap, "output.weight"), 0;
    size_t hl = strlen(hf);
    if (hl >= 21 && !strcmp(hf + hl - 21, "rotary_emb.inv_freq")) return 1;
    if (strncmp(hf, "model.layers.", 13)) return -1;
    char *end;
    long l = strtol(hf + 13, &end, 10);
    if (end == hf + 13 || *end != '.' || l < 0 || l > 100000) return -1;
    for (size_t i = 0; i < sizeof layer_map / sizeof *layer_map; i++)
        if (!strcmp(end + 1, layer_map[i][0])) return snprintf(out, cap, "blk.%ld.%s", l, layer_map[i][1]), 0;
    return -1;
}

static int add_hf_tensor(cl_model_file *mf, const char *where, const cl_tensor *t) {
    char name[128];
    int m = map_name(t->name, name, sizeof name);
    if (m < 0) return cl_fail("%s: tensor %s unsupported (not a llama/qwen2/qwen3 weight)", where, t->name);
    if (m == 0) cl_mf_add(mf, name, t);
    return 0;
}

static int open_shard(cl_model_file *mf, const char *path) {
    cl_safetensors *st = cl_st_open(path);
    if (!st) return -1;
    mf->shards = cl_realloc(mf->shards, (size_t)(mf->n_shards + 1) * sizeof *mf->shards);
    mf->shards[mf->n_shards++] = st;
    return 0;
}

static int load_sharded(cl_model_file *mf, const char *dir, const char *index) {
    json_error_t je;
    json_t *root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
    if (!root) return cl_fail("%s: line %d: %s", index, je.line, je.text);
    json_t *wm = json_object_get(root, "weight_map");
    int rc = -1;
    if (!json_is_object(wm)) {
        cl_fail("%s: weight_map missing", index);
        goto out;
    }
    /* open every distinct shard once: shard file name -> index in mf->shards */
    json_t *opened = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v) {
        const char *file = json_string_value(v);
        if (!file || strchr(file, '/')) {
            cl_fail("%s: weight_map[%s] is not a file name in the directory", index, key);
            json_decref(opened);
            goto out;
        }
        json_t *idx = json_object_get(opened, file);
        if (!idx) {
            char *p = cl_path_join(dir, file);
            int r = open_shard(mf, p);
            free(p);
            if (r) {
                json_decref(opened);
                goto out;
            }
            json_object_set_new(opened, file, idx = json_integer(mf->n_shards - 1));
        }
        const cl_safetensors *st = mf->shards[json_integer_value(idx)];
        const cl_tensor *t = cl_st_find(st, key);
        if (!t) {
            cl_fail("%s: tensor %s listed in %s is not in %s", dir, key, index, file);
            json_decref(opened);
            goto out;
        }
        if (add_hf_tensor(mf, dir, t)) {
            json_decref(opened);
            goto out;
        }
    }
    json_decref(opened);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static void load_chat_template(cl_model_file *mf, const char *dir) {
    char *p = cl_path_join(dir, "tokenizer_config.json");
    json_t *root = cl_path_exists(p) ? json_load_file(p, 0, NULL) : NULL;
    json_t *ct = json_object_get(root, "chat_template");
    if (json_is_string(ct)) mf->chat_template = cl_strdup(json_string_value(ct));
    else if (json_is_array(ct)) { /* [{name, template}, ...]: the "default" one */
        size_t i;
        json_t *e;
        json_array_foreach(ct, i, e) {
            if (!mf->chat_template && !strcmp(json_string_value(json_object_get(e, "name")) ? json_string_value(json_object_get(e, "name")) : "", "default") &&
                json_is_string(json_object_get(e, "template")))
                mf->chat_template = cl_strdup(json_string_value(json_object_get(e, "template")));
        }
    }
    json_decref(root);
    free(p);
}

int cl_mf_open_hf(cl_model_file *mf, const char *dir) {
    char *cfg = cl_path_join(dir, "config.json"), *single = cl_path_join(dir, "model.safetensors"),
         *index = cl_path_join(dir, "model.safetensors.index.json"), *tok = cl_path_join(dir, "tokenizer.json");
    int rc = -1;
    if (!cl_path_exists(cfg)) {
        cl_fail("%s: no config.json (not a Hugging Face model directory)", dir);
        goto out;
    }
    if (cl_hf_config_load(cfg, &mf->cfg)) goto out;
    if (cl_path_exists(single)) {
        if (open_shard(mf, single)) goto out;
        const cl_safetensors *st = mf->shards[0];
        for (int i = 0; i < cl_st_n_tensors(st); i++)
            if (add_hf_tensor(mf, single, cl_st_tensor(st, i))) goto out;
    } else if (cl_path_exists(index)) {
        if (load_sharded(mf, dir, index)) goto out;
    } else {
        cl_fail("%s: neither model.safetensors nor model.safetensors.index.json", dir);
        goto out;
    }
    /* Tied heads: TinyStories-656K stores only lm_head.weight; others only embed_tokens. */
    int has_embd = 0, has_out = 0;
    for (int i = 0; i < mf->n_t; i++) {
        has_embd |= !strcmp(mf->t[i].name, "token_embd.weight");
        has_out |= !strcmp(mf->t[i].name, "output.weight");
    }
    if (has_out && !has_embd) {
        for (int i = 0; i < mf->n_t; i++)
            if (!strcmp(mf->t[i].name, "output.weight")) {
                free((char *)mf->t[i].name);
                mf->t[i].name = cl_strdup("token_embd.weight");
            }
        mf->cfg.tied_embeddings = 1;
    } else if (has_out && has_embd) {
        mf->cfg.tied_embeddings = 0; /* both stored: use each as given */
    } else if (has_embd && !mf->cfg.tied_embeddings) {
        cl_fail("%s: lm_head.weight missing and tie_word_embeddings is false", dir);
        goto out;
    }
    if (cl_path_exists(tok)) mf->tok_json = cl_strdup(tok);
    load_chat_template(mf, dir);
    rc = 0;
out:
    free(cfg);
    free(single);
    free(index);
    free(tok);
    return rc;
}
