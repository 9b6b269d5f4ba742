/* model_gguf.c — a GGUF model (llama — Mistral too —, qwen2, qwen3, gemma3; llama.cpp's key and
 * tensor names), and cl_gguf_set_config, the inverse used by writers.
 *
 * Every "{arch}." key is either read or known to be harmless; any other is refused by name (and
 * model_file.c refuses any tensor the config does not use): nothing is silently ignored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_file_int.h"

static int key_int(const cl_gguf *g, const char *arch, const char *suffix, int *out, int dflt, int required) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, suffix);
    int64_t v;
    if (cl_gguf_find(g, k) < 0) {
        if (required) return cl_fail("%s missing", k);
        *out = dflt;
        return 0;
    }
    if (cl_gguf_get_i64(g, k, &v)) return -1;
    if (v < 0 || v > (1 << 30)) return cl_fail("%s = %lld out of range", k, (long long)v);
    *out = (int)v;
    return 0;
}

static int key_float(const cl_gguf *g, const char *arch, const char *suffix, float *out, float dflt) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, suffix);
    double v;
    if (cl_gguf_find(g, k) < 0) {
        *out = dflt;
        return 0;
    }
    if (cl_gguf_get_f64(g, k, &v)) return -1;
    if (!isfinite(v)) return cl_fail("%s is not finite", k);
    *out = (float)v;
    return 0;
}

static int token_id(const cl_gguf *g, const char *key, int *out) {
    int64_t v;
    *out = -1;
    if (cl_gguf_find(g, key) < 0) return 0;
    if (cl_gguf_get_i64(g, key, &v)) return -1;
    if (v < -1 || v > (1 << 30)) return cl_fail("%s = %lld out of range", key, (long long)v);
    *out = (int)v;
    return 0;
}

/* The "{arch}." keys we understand (read below, or harmless), after the prefix. */
static const char *const known_keys[] = {
    "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
    "attention.head_count_kv", "rope.freq_base", "rope.freq_base_swa", "attention.layer_norm_rms_epsilon",
    "attention.key_length", "attention.value_length", "rope.dimension_count", "vocab_size",
    "rope.scaling.type", "rope.scaling.factor", "rope.scaling.original_context_length", "rope.scaling.finetuned",
    "rope.scaling.attn_factor", "rope.scaling.yarn_beta_fast", "rope.scaling.yarn_beta_slow",
    "attention.sliding_window", "attention.sliding_window_pattern", "tensor_data_layout",
    "expert_count", "expert_used_count",
};

static int check_keys(const cl_gguf *g, const char *arch, const char *path) {
    size_t al = strlen(arch);
    for (int i = 0; i < cl_gguf_n_kv(g); i++) {
        const char *k = cl_gguf_key(g, i);
        if (strncmp(k, arch, al) || k[al] != '.') continue;
        size_t j = 0, n = sizeof known_keys / sizeof *known_keys;
        while (j < n && strcmp(k + al + 1, known_keys[j])) j++;
        if (j == n) return cl_fail("%s: key %s unsupported (it may change the model's maths)", path, k);
    }
    int e = 0;
    if (key_int(g, arch, "expert_count", &e, 0, 0)) return cl_fail_prefix("%s", path);
    if (e) return cl_fail("%s: %s.expert_count = %d: mixture-of-experts models are unsupported", path, arch, e);
    return 0;
}

/* {arch}.rope.scaling.* as llama.cpp writes them ("none", "linear", "yarn"). */
static int rope_scaling(const cl_gguf *g, const char *arch, const char *path, cl_config *c) {
    char k[128];
    snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    const char *t = cl_gguf_find(g, k) >= 0 ? cl_gguf_get_str(g, k) : "none";
    if (!t) return cl_fail_prefix("%s", path);
    cl_rope_scaling *s = &c->rope_scaling;
    memset(s, 0, sizeof *s);
    float factor;
    if (key_float(g, arch, "rope.scaling.factor", &factor, 0)) return cl_fail_prefix("%s", path);
    if (!strcmp(t, "none")) {
        if (factor != 0 && factor != 1)
            return cl_fail("%s: %s.rope.scaling.factor = %g without a scaling type", path, arch, (double)factor);
        return 0;
    }
    if (!strcmp(t, "linear")) s->type = CL_ROPE_LINEAR;
    else if (!strcmp(t, "yarn")) s->type = CL_ROPE_YARN;
    else return cl_fail("%s: %s = %s unsupported (none, linear, yarn are)", path, k, t);
    s->factor = factor;
    if (!(factor > 0)) return cl_fail("%s: %s.rope.scaling.factor missing", path, arch);
    if (s->type == CL_ROPE_YARN) {
        if (key_int(g, arch, "rope.scaling.original_context_length", &s->orig_ctx, 0, 1) ||
            key_float(g, arch, "rope.scaling.yarn_beta_fast", &s->beta_fast, 32) ||
            key_float(g, arch, "rope.scaling.yarn_beta_slow", &s->beta_slow, 1) ||
            key_float(g, arch, "rope.scaling.attn_factor", &s->attn_factor, 1))
            return cl_fail_prefix("%s", path);
        /* llama.cpp (ggml's rope_yarn) multiplies its attn_factor by 1 + 0.1 ln(factor) */
        if (factor > 1) s->attn_factor *= (float)(0.1 * log(factor) + 1);
    }
    return 0;
}

/* {arch}.attention.sliding_window, and which layers: sliding_window_pattern (one bool per layer,
 * true = sliding), else gemma3: every layer but each 6th (llama.cpp's rule), llama: all. */
static int sliding(const cl_gguf *g, const char *arch, const char *path, cl_config *c) {
    if (key_int(g, arch, "attention.sliding_window", &c->sliding_window, 0, 0)) return cl_fail_prefix("%s", path);
    char k[128];
    snprintf(k, sizeof k, "%s.attention.sliding_window_pattern", arch);
    if (cl_gguf_find(g, k) >= 0) {
        int et;
        uint64_t n;
        const void *d;
        if (cl_gguf_get_arr(g, k, &et, &n, &d)) return cl_fail_prefix("%s", path);
        if (et != GGUF_BOOL || n != (uint64_t)c->n_layers)
            return cl_fail("%s: %s is not one bool per layer", path, k);
        for (int l = 0; l < c->n_layers; l++) c->layer_window[l] = ((const uint8_t *)d)[l] != 0;
    } else if (c->sliding_window > 0) {
        if (c->arch != CL_ARCH_GEMMA3 && c->arch != CL_ARCH_LLAMA)
            return cl_fail("%s: %s.attention.sliding_window without %s", path, arch, k);
        for (int l = 0; l < c->n_layers; l++) c->layer_window[l] = c->arch == CL_ARCH_LLAMA || (l + 1) % 6 != 0;
    }
    if (c->sliding_window == 0) memset(c->layer_window, 0, sizeof c->layer_window);
    return 0;
}

static int stops(const cl_gguf *g, cl_config *c) {
    static const char *const keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                       "tokenizer.ggml.eom_token_id"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int id;
        if (token_id(g, keys[i], &id) || cl_config_add_stop(c, id)) return -1;
        if (i == 0) c->eos_id = id;
    }
    return 0;
}

int cl_mf_open_gguf(cl_model_file *mf, const char *path) {
    cl_gguf *g = mf->gguf = cl_gguf_open(path);
    if (!g) return -1;
    cl_config *c = &mf->cfg;
    const char *arch = cl_gguf_get_str(g, "general.architecture");
    if (!arch) return cl_fail("%s: general.architecture missing", path);
    int a = cl_arch_from_name(arch);
    if (a < 0) return cl_fail("%s: architecture %s unsupported (llama, qwen2, qwen3, gemma3 are)", path, arch);
    c->arch = (cl_arch)a;
    int gemma = c->arch == CL_ARCH_GEMMA3;
    if (check_keys(g, arch, path)) return -1;
    if (key_int(g, arch, "embedding_length", &c->dim, 0, 1) || key_int(g, arch, "block_count", &c->n_layers, 0, 1) ||
        key_int(g, arch, "feed_forward_length", &c->ffn_dim, 0, 1) ||
        key_int(g, arch, "attention.head_count", &c->n_heads, 0, 1) ||
        key_int(g, arch, "attention.head_count_kv", &c->n_kv_heads, c->n_heads, 0) ||
        key_int(g, arch, "context_length", &c->max_ctx, 2048, 0) ||
        key_float(g, arch, "rope.freq_base", &c->rope_theta, 10000.0f) ||
        key_float(g, arch, "attention.layer_norm_rms_epsilon", &c->rms_eps, 1e-5f) ||
        token_id(g, "tokenizer.ggml.bos_token_id", &c->bos_id) || stops(g, c))
        return cl_fail_prefix("%s", path);
    if (c->n_heads <= 0) return cl_fail("%s: %s.attention.head_count is 0", path, arch);
    if (c->n_layers > CL_MAX_LAYERS) return cl_fail("%s: %d layers: at most %d supported", path, c->n_layers, CL_MAX_LAYERS);
    if (key_int(g, arch, "attention.key_length", &c->head_dim, c->dim / c->n_heads, 0)) return cl_fail_prefix("%s", path);
    int vd, rd;
    if (key_int(g, arch, "attention.value_length", &vd, c->head_dim, 0) ||
        key_int(g, arch, "rope.dimension_count", &rd, c->head_dim, 0))
        return cl_fail_prefix("%s", path);
    if (vd != c->head_dim) return cl_fail("%s: %s.attention.value_length %d != key_length %d unsupported", path, arch, vd, c->head_dim);
    if (rd != c->head_dim)
        return cl_fail("%s: %s.rope.dimension_count %d != head dim %d (partial RoPE) unsupported", path, arch, rd, c->head_dim);
    if (rope_scaling(g, arch, path, c) || sliding(g, arch, path, c)) return -1;
    const cl_tensor *emb = cl_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->ndim != 2) return cl_fail("%s: tensor token_embd.weight missing or not 2-D", path);
    if (emb->shape[0] > (1 << 30)) return cl_fail("%s: token_embd.weight: vocabulary too large", path);
    c->n_vocab = (int)emb->shape[0];
    c->tied_embeddings = !cl_gguf_find_tensor(g, "output.weight");
    c->attn_bias = cl_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    c->qk_norm = cl_gguf_find_tensor(g, "blk.0.attn_q_norm.weight") != NULL;
    c->rope_freqs = cl_gguf_find_tensor(g, "rope_freqs.weight") != NULL;
    c->rope_interleaved = c->arch == CL_ARCH_LLAMA; /* llama.cpp's converter permutes Q/K for llama only */
    if (gemma) {   /* llama.cpp's gemma3: norms stored with the +1 folded in, GeGLU, sqrt(dim) scale */
        c->act = CL_ACT_GELU_TANH;
        c->post_norms = 1;
        c->embd_scale = sqrtf((float)c->dim);
        /* query_pre_attn_scalar: llama.cpp's rule (27B, 62 layers: hidden/heads; else head_dim) */
        c->attn_scale = 1.0f / sqrtf((float)(c->n_layers == 62 ? c->dim / c->n_heads : c->head_dim));
        if (key_float(g, arch, "rope.freq_base_swa", &c->rope_theta_local, 10000.0f)) return cl_fail_prefix("%s", path);
    }
    for (int i = 0; i < cl_gguf_n_tensors(g); i++) {
        const cl_tensor *t = cl_gguf_tensor(g, i);
        cl_mf_add(mf, t->name, t);
    }
    if (cl_gguf_find(g, "tokenizer.chat_template") >= 0) {
        const char *ct = cl_gguf_get_str(g, "tokenizer.chat_template");
        if (!ct) return cl_fail_prefix("%s", path);
        mf->chat_template = cl_strdup(ct);
    }
    return 0;
}

void cl_gguf_set_config(cl_gguf_writer *w, const cl_config *c) {
    const char *a = cl_arch_name(c->arch);
    char k[128];
    cl_gguf_set_str(w, "general.architecture", a);
#define KEY(suffix) (snprintf(k, sizeof k, "%s." suffix, a), k)
    cl_gguf_set_u32(w, KEY("context_length"), (uint32_t)c->max_ctx);
    cl_gguf_set_u32(w, KEY("embedding_length"), (uint32_t)c->dim);
    cl_gguf_set_u32(w, KEY("block_count"), (uint32_t)c->n_layers);
    cl_gguf_set_u32(w, KEY("feed_forward_length"), (uint32_t)c->ffn_dim);
    cl_gguf_set_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads);
    cl_gguf_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    cl_gguf_set_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
    cl_gguf_set_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
    cl_gguf_set_u32(w, KEY("rope.dimension_count"), (uint32_t)c->head_dim);
    cl_gguf_set_f32(w, KEY("rope.freq_base"), c->rope_theta);
    cl_gguf_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->rms_eps);
    const cl_rope_scaling *s = &c->rope_scaling;
    if (s->type == CL_ROPE_LINEAR || s->type == CL_ROPE_YARN) {
        cl_gguf_set_str(w, KEY("rope.scaling.type"), s->type == CL_ROPE_LINEAR ? "linear" : "yarn");
        cl_gguf_set_f32(w, KEY("rope.scaling.factor"), s->factor);
    }
    if (s->type == CL_ROPE_YARN) {
        cl_gguf_set_u32(w, KEY("rope.scaling.original_context_length"), (uint32_t)s->orig_ctx);
        cl_gguf_set_f32(w, KEY("rope.scaling.yarn_beta_fast"), s->beta_fast);
        cl_gguf_set_f32(w, KEY("rope.scaling.yarn_beta_slow"), s->beta_slow);
        if (s->attn_factor > 0)   /* llama.cpp's factor, which ggml multiplies by 1 + 0.1 ln(factor) */
            cl_gguf_set_f32(w, KEY("rope.scaling.attn_factor"),
                            s->factor > 1 ? (float)(s->attn_factor / (0.1 * log(s->factor) + 1)) : s->attn_factor);
    }
    /* llama3 scaling travels as the rope_freqs.weight tensor (cl_rope_freq_factors) */
    if (c->sliding_window > 0) {
        cl_gguf_set_u32(w, KEY("attention.sliding_window"), (uint32_t)c->sliding_window);
        uint8_t pat[CL_MAX_LAYERS];
        for (int l = 0; l < c->n_layers; l++) pat[l] = c->layer_window[l];
        cl_gguf_set_arr(w, KEY("attention.sliding_window_pattern"), GGUF_BOOL, pat, (uint64_t)c->n_layers);
    }
    if (c->rope_theta_local > 0) cl_gguf_set_f32(w, KEY("rope.freq_base_swa"), c->rope_theta_local);
#undef KEY
    if (c->bos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos_id);
    if (c->eos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos_id);
}
