/* model_gguf.c — a GGUF model (llama / qwen2 / qwen3, llama.cpp's key and tensor names), and
 * cl_gguf_set_config, the inverse used by writers. */
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

int cl_mf_open_gguf(cl_model_file *mf, const char *path) {
    cl_gguf *g = mf->gguf = cl_gguf_open(path);
    if (!g) return -1;
    cl_config *c = &mf->cfg;
    const char *arch = cl_gguf_get_str(g, "general.architecture");
    if (!arch) return cl_fail("%s: general.architecture missing", path);
    int a = cl_arch_from_name(arch);
    if (a < 0) return cl_fail("%s: architecture %s unsupported (llama, qwen2, qwen3 are)", path, arch);
    c->arch = (cl_arch)a;
    if (key_int(g, arch, "embedding_length", &c->dim, 0, 1) || key_int(g, arch, "block_count", &c->n_layers, 0, 1) ||
        key_int(g, arch, "feed_forward_length", &c->ffn_dim, 0, 1) ||
        key_int(g, arch, "attention.head_count", &c->n_heads, 0, 1) ||
        key_int(g, arch, "attention.head_count_kv", &c->n_kv_heads, c->n_heads, 0) ||
        key_int(g, arch, "context_length", &c->max_ctx, 2048, 0) ||
        key_float(g, arch, "rope.freq_base", &c->rope_theta, 10000.0f) ||
        key_float(g, arch, "attention.layer_norm_rms_epsilon", &c->rms_eps, 1e-5f) ||
        token_id(g, "tokenizer.ggml.bos_token_id", &c->bos_id) || token_id(g, "tokenizer.ggml.eos_token_id", &c->eos_id))
        return cl_fail_prefix("%s", path);
    if (c->n_heads <= 0) return cl_fail("%s: %s.attention.head_count is 0", path, arch);
    if (key_int(g, arch, "attention.key_length", &c->head_dim, c->dim / c->n_heads, 0)) return cl_fail_prefix("%s", path);
    int rope_dim;   /* partial rotary (RoPE on the first dims of a head only) is not implemented */
    if (key_int(g, arch, "rope.dimension_count", &rope_dim, c->head_dim, 0)) return cl_fail_prefix("%s", path);
    if (rope_dim != c->head_dim)
        return cl_fail("%s: %s.rope.dimension_count = %d, but only RoPE over the whole head (%d) is supported", path,
                       arch, rope_dim, c->head_dim);
    const cl_tensor *emb = cl_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->ndim != 2) return cl_fail("%s: tensor token_embd.weight missing or not 2-D", path);
    if (emb->shape[0] > (1 << 30)) return cl_fail("%s: token_embd.weight: vocabulary too large", path);
    c->n_vocab = (int)emb->shape[0];
    c->tied_embeddings = !cl_gguf_find_tensor(g, "output.weight");
    c->attn_bias = cl_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    c->qk_norm = cl_gguf_find_tensor(g, "blk.0.attn_q_norm.weight") != NULL;
    c->rope_interleaved = c->arch == CL_ARCH_LLAMA; /* llama.cpp's converter permutes Q/K for llama only */
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
#define U32(suffix, v) (snprintf(k, sizeof k, "%s." suffix, a), cl_gguf_set_u32(w, k, (uint32_t)(v)))
    U32("context_length", c->max_ctx);
    U32("embedding_length", c->dim);
    U32("block_count", c->n_layers);
    U32("feed_forward_length", c->ffn_dim);
    U32("attention.head_count", c->n_heads);
    U32("attention.head_count_kv", c->n_kv_heads);
    U32("attention.key_length", c->head_dim);
    U32("attention.value_length", c->head_dim);
    U32("rope.dimension_count", c->head_dim);
#undef U32
    snprintf(k, sizeof k, "%s.rope.freq_base", a);
    cl_gguf_set_f32(w, k, c->rope_theta);
    snprintf(k, sizeof k, "%s.attention.layer_norm_rms_epsilon", a);
    cl_gguf_set_f32(w, k, c->rms_eps);
    if (c->bos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos_id);
    if (c->eos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos_id);
}
