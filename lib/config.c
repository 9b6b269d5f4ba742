/* config.c — architecture names and sanity checks of a cl_config (see config.h). */
#include "config.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util.h"

static const char *const arch_names[] = {"llama", "qwen2", "qwen3", "gemma3"};

const char *cl_arch_name(cl_arch a) {
    return (unsigned)a < sizeof arch_names / sizeof *arch_names ? arch_names[a] : "unknown";
}

int cl_arch_from_name(const char *s) {
    for (int i = 0; i < (int)(sizeof arch_names / sizeof *arch_names); i++)
        if (s && !strcmp(s, arch_names[i])) return i;
    return -1;
}

const char *cl_rope_type_name(cl_rope_type t) {
    static const char *const n[] = {"default", "linear", "llama3", "yarn"};
    return (unsigned)t < 4 ? n[t] : "unknown";
}

static int range(const char *field, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) return cl_fail("config: %s = %lld out of range [%lld, %lld]", field, v, lo, hi);
    return 0;
}

static int frange(const char *field, float v, float lo, float hi) {
    if (!(v >= lo && v <= hi)) return cl_fail("config: %s = %g out of range [%g, %g]", field, (double)v, (double)lo, (double)hi);
    return 0;
}

static int validate_rope_scaling(const cl_rope_scaling *s) {
    if ((unsigned)s->type > CL_ROPE_YARN) return cl_fail("config: rope scaling type %d unknown", (int)s->type);
    if (s->type == CL_ROPE_DEFAULT) return 0;
    if (frange("rope scaling factor", s->factor, 1e-3f, 1e4f)) return -1;
    if (s->type == CL_ROPE_LLAMA3) {
        if (range("rope scaling original_max_position_embeddings", s->orig_ctx, 1, 1 << 24) ||
            frange("rope scaling low_freq_factor", s->low_freq_factor, 1e-6f, 1e6f) ||
            frange("rope scaling high_freq_factor", s->high_freq_factor, 1e-6f, 1e6f))
            return -1;
        if (!(s->high_freq_factor > s->low_freq_factor))
            return cl_fail("config: rope scaling high_freq_factor %g must exceed low_freq_factor %g",
                           (double)s->high_freq_factor, (double)s->low_freq_factor);
    }
    if (s->type == CL_ROPE_YARN)
        if (range("rope scaling original_max_position_embeddings", s->orig_ctx, 1, 1 << 24) ||
            frange("rope scaling beta_fast", s->beta_fast, 1e-6f, 1e6f) ||
            frange("rope scaling beta_slow", s->beta_slow, 1e-6f, 1e6f) ||
            frange("rope scaling attention_factor", s->attn_factor, 0, 1e3f))
            return -1;
    return 0;
}

int cl_config_validate(const cl_config *c) {
    if (cl_arch_from_name(cl_arch_name(c->arch)) < 0) return cl_fail("config: arch = %d unknown", (int)c->arch);
    if (range("n_vocab", c->n_vocab, 1, 1 << 22) || range("dim", c->dim, 1, 1 << 16) ||
        range("n_layers", c->n_layers, 1, CL_MAX_LAYERS) || range("n_heads", c->n_heads, 1, 1024) ||
        range("n_kv_heads", c->n_kv_heads, 1, 1024) || range("head_dim", c->head_dim, 2, 4096) ||
        range("ffn_dim", c->ffn_dim, 1, 1 << 20) || range("max_ctx", c->max_ctx, 1, 1 << 24) ||
        range("bos_id", c->bos_id, -1, c->n_vocab - 1) || range("eos_id", c->eos_id, -1, c->n_vocab - 1) ||
        range("sliding_window", c->sliding_window, 0, 1 << 24) || range("n_stop", c->n_stop, 0, CL_MAX_STOP))
        return -1;
    for (int i = 0; i < c->n_stop; i++)
        if (range("stop id", c->stop_ids[i], 0, c->n_vocab - 1)) return -1;
    if (c->n_heads % c->n_kv_heads)
        return cl_fail("config: n_heads = %d is not a multiple of n_kv_heads = %d", c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2) return cl_fail("config: head_dim = %d is odd (RoPE rotates pairs)", c->head_dim);
    if ((long long)c->n_heads * c->head_dim > (1 << 17))
        return cl_fail("config: n_heads * head_dim = %lld too large", (long long)c->n_heads * c->head_dim);
    if (!(c->rope_theta > 0 && c->rope_theta < 1e12f) || !isfinite(c->rope_theta))
        return cl_fail("config: rope_theta = %g out of range (0, 1e12)", (double)c->rope_theta);
    if (!(c->rope_theta_local >= 0 && c->rope_theta_local < 1e12f))
        return cl_fail("config: local rope_theta = %g out of range [0, 1e12)", (double)c->rope_theta_local);
    if (!(c->rms_eps > 0 && c->rms_eps < 1)) return cl_fail("config: rms_eps = %g out of range (0, 1)", (double)c->rms_eps);
    if ((unsigned)c->tied_embeddings > 1 || (unsigned)c->attn_bias > 1 || (unsigned)c->qk_norm > 1 ||
        (unsigned)c->rope_interleaved > 1 || (unsigned)c->rope_freqs > 1 || (unsigned)c->post_norms > 1 ||
        (unsigned)c->norm_plus_one > 1)
        return cl_fail("config: flags must be 0 or 1");
    if ((unsigned)c->act > CL_ACT_GELU_TANH) return cl_fail("config: activation %d unknown", (int)c->act);
    if (frange("embedding scale", c->embd_scale, 0, 1e4f) || frange("attention scale", c->attn_scale, 0, 1e4f))
        return -1;
    int any_local = 0;
    for (int l = 0; l < CL_MAX_LAYERS; l++) {
        if (c->layer_window[l] > 1) return cl_fail("config: layer_window[%d] must be 0 or 1", l);
        if (c->layer_window[l] && l >= c->n_layers) return cl_fail("config: layer_window[%d] set past the last layer", l);
        any_local |= c->layer_window[l];
    }
    if (any_local && c->sliding_window <= 0) return cl_fail("config: sliding-window layers without a sliding_window");
    return validate_rope_scaling(&c->rope_scaling);
}

int cl_config_layer_local(const cl_config *c, int l) {
    return c->sliding_window > 0 && l >= 0 && l < c->n_layers && c->layer_window[l];
}

int cl_config_add_stop(cl_config *c, int id) {
    if (id < 0) return 0;
    for (int i = 0; i < c->n_stop; i++)
        if (c->stop_ids[i] == id) return 0;
    if (c->n_stop >= CL_MAX_STOP) return cl_fail("config: more than %d stop tokens", CL_MAX_STOP);
    c->stop_ids[c->n_stop++] = id;
    return 0;
}

int cl_config_require_plain(const cl_config *c, const char *who) {
    /* the loader folds HF Gemma's w - 1 gains; a config still marked has raw gains */
    if (c->norm_plus_one) return cl_fail("%s: unfolded norm_plus_one gains are not supported by the trainer", who);
    return 0;
}

static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len += (size_t)n;
}

void cl_config_describe_extra(const cl_config *c, char *buf, size_t cap) {
    size_t n = 0;
    const cl_rope_scaling *s = &c->rope_scaling;
    if (cap) buf[0] = 0;
    if (s->type != CL_ROPE_DEFAULT)
        put(buf, cap, &n, "rope_scaling: %s factor=%.9g orig_ctx=%d low=%.9g high=%.9g beta_fast=%.9g beta_slow=%.9g attn_factor=%.9g\n",
            cl_rope_type_name(s->type), (double)s->factor, s->orig_ctx, (double)s->low_freq_factor,
            (double)s->high_freq_factor, (double)s->beta_fast, (double)s->beta_slow, (double)s->attn_factor);
    if (c->rope_freqs) put(buf, cap, &n, "rope_freqs: 1\n");
    if (c->sliding_window > 0) {
        put(buf, cap, &n, "sliding_window: %d\nwindow_layers: ", c->sliding_window);
        for (int l = 0; l < c->n_layers; l++) put(buf, cap, &n, "%c", c->layer_window[l] ? 'L' : 'G');
        put(buf, cap, &n, "\n");
    }
    if (c->rope_theta_local > 0) put(buf, cap, &n, "rope_theta_local: %.9g\n", (double)c->rope_theta_local);
    if (c->act != CL_ACT_SILU) put(buf, cap, &n, "activation: gelu_tanh\n");
    if (c->post_norms) put(buf, cap, &n, "post_norms: 1\n");
    if (c->embd_scale > 0) put(buf, cap, &n, "embd_scale: %.9g\n", (double)c->embd_scale);
    if (c->attn_scale > 0) put(buf, cap, &n, "attn_scale: %.9g\n", (double)c->attn_scale);
    if (c->norm_plus_one) put(buf, cap, &n, "norm_plus_one: 1\n");
    if (c->n_stop > 1 || (c->n_stop == 1 && c->stop_ids[0] != c->eos_id)) {
        put(buf, cap, &n, "stop_ids:");
        for (int i = 0; i < c->n_stop; i++) put(buf, cap, &n, " %d", c->stop_ids[i]);
        put(buf, cap, &n, "\n");
    }
}
