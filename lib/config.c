/* config.c — architecture names and sanity checks of a cl_config (see config.h). */
#include "config.h"
#include <math.h>
#include <string.h>
#include "util.h"

static const char *const arch_names[] = {"llama", "qwen2", "qwen3"};

const char *cl_arch_name(cl_arch a) {
    return (unsigned)a < sizeof arch_names / sizeof *arch_names ? arch_names[a] : "unknown";
}

int cl_arch_from_name(const char *s) {
    for (int i = 0; i < (int)(sizeof arch_names / sizeof *arch_names); i++)
        if (s && !strcmp(s, arch_names[i])) return i;
    return -1;
}

static int range(const char *field, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) return cl_fail("config: %s = %lld out of range [%lld, %lld]", field, v, lo, hi);
    return 0;
}

int cl_config_validate(const cl_config *c) {
    if (cl_arch_from_name(cl_arch_name(c->arch)) < 0) return cl_fail("config: arch = %d unknown", (int)c->arch);
    if (range("n_vocab", c->n_vocab, 1, 1 << 22) || range("dim", c->dim, 1, 1 << 16) ||
        range("n_layers", c->n_layers, 1, CL_MAX_LAYERS) || range("n_heads", c->n_heads, 1, 1024) ||
        range("n_kv_heads", c->n_kv_heads, 1, 1024) || range("head_dim", c->head_dim, 2, 4096) ||
        range("ffn_dim", c->ffn_dim, 1, 1 << 20) || range("max_ctx", c->max_ctx, 1, 1 << 24) ||
        range("bos_id", c->bos_id, -1, c->n_vocab - 1) || range("eos_id", c->eos_id, -1, c->n_vocab - 1))
        return -1;
    if (c->n_heads % c->n_kv_heads)
        return cl_fail("config: n_heads = %d is not a multiple of n_kv_heads = %d", c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2) return cl_fail("config: head_dim = %d is odd (RoPE rotates pairs)", c->head_dim);
    if ((long long)c->n_heads * c->head_dim > (1 << 17))
        return cl_fail("config: n_heads * head_dim = %lld too large", (long long)c->n_heads * c->head_dim);
    if (!(c->rope_theta > 0 && c->rope_theta < 1e12f) || !isfinite(c->rope_theta))
        return cl_fail("config: rope_theta = %g out of range (0, 1e12)", (double)c->rope_theta);
    if (!(c->rms_eps > 0 && c->rms_eps < 1)) return cl_fail("config: rms_eps = %g out of range (0, 1)", (double)c->rms_eps);
    if ((unsigned)c->tied_embeddings > 1 || (unsigned)c->attn_bias > 1 || (unsigned)c->qk_norm > 1 ||
        (unsigned)c->rope_interleaved > 1)
        return cl_fail("config: flags must be 0 or 1");
    return 0;
}
