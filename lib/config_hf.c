/* config_hf.c — a Hugging Face config.json (and generation_config.json's stop ids) as a cl_config.
 *
 * Architectures: LlamaForCausalLM, MistralForCausalLM (llama maths, optional sliding window),
 * Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM and the text half of
 * Gemma3ForConditionalGeneration (its "text_config", with Gemma3TextConfig's defaults).
 * Every key that changes the maths is read or refused (one error naming it). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_file_int.h"

typedef struct {
    json_t *o;          /* the object holding the text model's keys */
    const char *path;
} src;

static json_t *get(const src *s, const char *key) {
    json_t *v = json_object_get(s->o, key);
    return json_is_null(v) ? NULL : v;
}

static int get_int(const src *s, const char *key, int *out, int dflt, int required) {
    json_t *v = get(s, key);
    if (!v) {
        if (required) return cl_fail("%s: %s missing", s->path, key);
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 1 << 30)
        return cl_fail("%s: %s is not a valid integer", s->path, key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int num_of(const src *s, const char *key, json_t *v, float *out, float dflt) {
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) return cl_fail("%s: %s is not a number", s->path, key);
    *out = (float)json_number_value(v);
    return 0;
}

static int get_num(const src *s, const char *key, float *out, float dflt) {
    return num_of(s, key, get(s, key), out, dflt);
}

static int get_bool(const src *s, const char *key, int *out, int dflt) {
    json_t *v = get(s, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) return cl_fail("%s: %s is not a boolean", s->path, key);
    *out = json_is_true(v);
    return 0;
}

/* eos_token_id: an id or a list of ids; the first is eos_id, all of them stop generation. */
static int get_stops(const char *path, json_t *v, cl_config *c, int set_eos) {
    if (!v || json_is_null(v)) return 0;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 1 << 30)
            return cl_fail("%s: eos_token_id is not an id or a list of ids", path);
        int id = (int)json_integer_value(e);
        if (set_eos && i == 0) c->eos_id = id;
        if (cl_config_add_stop(c, id)) return cl_fail_prefix("%s", path);
    }
    return 0;
}

static int get_rope(const src *s, cl_config *c);

/* transformers 5's per-layer-type rope_parameters (Gemma 3): {"full_attention": {...},
 * "sliding_attention": {...}}; the sliding layers' must be unscaled (their base: rope_theta_local). */
static int get_rope_per_type(const src *s, json_t *rp, cl_config *c) {
    json_t *full = json_object_get(rp, "full_attention"), *slide = json_object_get(rp, "sliding_attention");
    if (!json_is_object(full)) return cl_fail("%s: rope_parameters.full_attention missing", s->path);
    json_t *wrap = json_pack("{sO}", "rope_parameters", full);
    src w = {wrap, s->path};
    int rc = get_rope(&w, c);
    json_decref(wrap);
    if (rc || !slide) return rc;
    src sl = {slide, s->path};
    const char *t = json_string_value(get(&sl, "rope_type"));
    if (t && strcmp(t, "default"))
        return cl_fail("%s: rope_parameters.sliding_attention rope_type \"%s\" unsupported (default is)", s->path, t);
    return get_num(&sl, "rope_theta", &c->rope_theta_local, 10000.0f);
}

/* rope_scaling (or transformers 5's rope_parameters, which also holds rope_theta). */
static int get_rope(const src *s, cl_config *c) {
    json_t *rs = get(s, "rope_scaling"), *rp = get(s, "rope_parameters");
    if (rp) {
        if (!json_is_object(rp)) return cl_fail("%s: rope_parameters is not an object", s->path);
        if (rs) return cl_fail("%s: both rope_scaling and rope_parameters are set", s->path);
        if (json_object_get(rp, "full_attention") || json_object_get(rp, "sliding_attention"))
            return get_rope_per_type(s, rp, c);
        src p = {rp, s->path};
        if (get_num(&p, "rope_theta", &c->rope_theta, c->rope_theta)) return -1;
        rs = rp;
    }
    if (!rs) return 0;
    if (!json_is_object(rs)) return cl_fail("%s: rope_scaling is not an object", s->path);
    src r = {rs, s->path};
    const char *t = json_string_value(get(&r, "rope_type"));
    if (!t) t = json_string_value(get(&r, "type"));
    if (!t) return cl_fail("%s: rope_scaling has no rope_type", s->path);
    cl_rope_scaling *k = &c->rope_scaling;
    memset(k, 0, sizeof *k);
    if (!strcmp(t, "default")) return 0;
    if (!strcmp(t, "linear")) k->type = CL_ROPE_LINEAR;
    else if (!strcmp(t, "llama3")) k->type = CL_ROPE_LLAMA3;
    else if (!strcmp(t, "yarn")) k->type = CL_ROPE_YARN;
    else return cl_fail("%s: rope_scaling rope_type \"%s\" unsupported (default, linear, llama3, yarn are)", s->path, t);
    if (!get(&r, "factor")) return cl_fail("%s: rope_scaling.factor missing", s->path);
    if (get_num(&r, "factor", &k->factor, 1) || get_int(&r, "original_max_position_embeddings", &k->orig_ctx, c->max_ctx, 0))
        return -1;
    if (k->type == CL_ROPE_LLAMA3) {
        if (get_num(&r, "low_freq_factor", &k->low_freq_factor, 1) || get_num(&r, "high_freq_factor", &k->high_freq_factor, 4))
            return -1;
        if (!get(&r, "original_max_position_embeddings"))
            return cl_fail("%s: rope_scaling.original_max_position_embeddings missing", s->path);
    }
    if (k->type == CL_ROPE_YARN) {
        float mscale, mscale_all;
        json_t *tr = get(&r, "truncate");
        if (tr && !json_is_true(tr)) return cl_fail("%s: rope_scaling.truncate = false unsupported", s->path);
        if (get_num(&r, "beta_fast", &k->beta_fast, 32) || get_num(&r, "beta_slow", &k->beta_slow, 1) ||
            get_num(&r, "attention_factor", &k->attn_factor, 0) || get_num(&r, "mscale", &mscale, 0) ||
            get_num(&r, "mscale_all_dim", &mscale_all, 0))
            return -1;
        /* HF: attention_factor, else mscale ratio when both mscales are given, else the default */
        if (k->attn_factor == 0 && mscale != 0 && mscale_all != 0 && k->factor > 1)
            k->attn_factor = (float)((0.1 * mscale * log(k->factor) + 1) / (0.1 * mscale_all * log(k->factor) + 1));
    }
    return 0;
}

/* Keys whose non-null, non-default value changes the maths in ways we do not implement. */
static int refuse_keys(const src *s, const cl_config *c) {
    static const char *const never[] = {"attn_logit_softcapping", "final_logit_softcapping", "quantization_config",
                                        "logits_scaling", "embedding_multiplier", "residual_multiplier",
                                        "attention_multiplier", "num_local_experts", "num_experts"};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
        json_t *v = get(s, never[i]);
        if (v && !(json_is_integer(v) && json_integer_value(v) == 0))
            return cl_fail("%s: %s is set: unsupported", s->path, never[i]);
    }
    int b;
    if (get_bool(s, "mlp_bias", &b, 0)) return -1;
    if (b) return cl_fail("%s: mlp_bias = true: biases of the feed-forward projections are unsupported", s->path);
    if (get_bool(s, "attention_bias", &b, 0)) return -1;
    if (b && c->arch != CL_ARCH_QWEN2)
        return cl_fail("%s: attention_bias = true: the output projection's bias is unsupported", s->path);
    float prf;
    if (get_num(s, "partial_rotary_factor", &prf, 1)) return -1;
    if (prf != 1) return cl_fail("%s: partial_rotary_factor = %g unsupported (1 is)", s->path, (double)prf);
    return 0;
}

static int get_act(const src *s, cl_config *c) {
    const char *key = get(s, "hidden_activation") ? "hidden_activation" : "hidden_act";
    json_t *v = get(s, key);
    const char *a = v ? json_string_value(v) : c->arch == CL_ARCH_GEMMA3 ? "gelu_pytorch_tanh" : "silu";
    if (!a) return cl_fail("%s: %s is not a string", s->path, key);
    if (!strcmp(a, "silu") || !strcmp(a, "swish")) c->act = CL_ACT_SILU;
    else if (!strcmp(a, "gelu_pytorch_tanh")) c->act = CL_ACT_GELU_TANH;
    else return cl_fail("%s: %s = \"%s\" unsupported (silu, gelu_pytorch_tanh are)", s->path, key, a);
    return 0;
}

/* Which layers use the sliding window: layer_types, else the architecture's rule. */
static int get_window(const src *s, cl_config *c) {
    json_t *lt = get(s, "layer_types");
    int use = 1, sw = 0, mwl = 0, pattern = 6;
    if (get_int(s, "sliding_window", &sw, c->arch == CL_ARCH_GEMMA3 ? 4096 : 0, 0)) return -1;
    if (c->arch == CL_ARCH_QWEN2 || c->arch == CL_ARCH_QWEN3) {
        if (get_bool(s, "use_sliding_window", &use, 0) || get_int(s, "max_window_layers", &mwl, c->n_layers, 0))
            return -1;
        if (!use) sw = 0;
    }
    if (sw < 0) return cl_fail("%s: sliding_window = %d", s->path, sw);
    c->sliding_window = sw;
    if (lt) {
        if (!json_is_array(lt) || (int)json_array_size(lt) != c->n_layers)
            return cl_fail("%s: layer_types is not a list of num_hidden_layers strings", s->path);
        for (int l = 0; l < c->n_layers && l < CL_MAX_LAYERS; l++) {
            const char *t = json_string_value(json_array_get(lt, (size_t)l));
            if (t && !strcmp(t, "sliding_attention")) c->layer_window[l] = 1;
            else if (!t || strcmp(t, "full_attention"))
                return cl_fail("%s: layer_types[%d] = %s unsupported (full_attention, sliding_attention are)", s->path,
                               l, t ? t : "?");
        }
    } else if (sw > 0) {
        if (c->arch == CL_ARCH_GEMMA3 && get_int(s, "sliding_window_pattern", &pattern, 6, 0)) return -1;
        if (pattern <= 0) return cl_fail("%s: sliding_window_pattern = %d", s->path, pattern);
        for (int l = 0; l < c->n_layers && l < CL_MAX_LAYERS; l++)
            c->layer_window[l] = c->arch == CL_ARCH_GEMMA3 ? (l + 1) % pattern != 0
                                 : c->arch == CL_ARCH_LLAMA ? 1 : l >= mwl;
    }
    if (c->sliding_window == 0) memset(c->layer_window, 0, sizeof c->layer_window);
    return 0;
}

static int arch_of(json_t *root, const char *path, int *gemma_mm, int *mistral) {
    static const struct { const char *cls, *mt; cl_arch a; } known[] = {
        {"LlamaForCausalLM", "llama", CL_ARCH_LLAMA},      {"MistralForCausalLM", "mistral", CL_ARCH_LLAMA},
        {"Qwen2ForCausalLM", "qwen2", CL_ARCH_QWEN2},      {"Qwen3ForCausalLM", "qwen3", CL_ARCH_QWEN3},
        {"Gemma3ForCausalLM", "gemma3_text", CL_ARCH_GEMMA3},
        {"Gemma3ForConditionalGeneration", "gemma3", CL_ARCH_GEMMA3},
    };
    const char *a0 = json_string_value(json_array_get(json_object_get(root, "architectures"), 0));
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if ((a0 && !strcmp(a0, known[i].cls)) || (!a0 && mt && !strcmp(mt, known[i].mt))) {
            *gemma_mm = i == 5;
            *mistral = i == 1;
            return known[i].a;
        }
    return cl_fail("%s: architecture %s (model_type %s) unsupported: llama, mistral, qwen2, qwen3, gemma3 are", path,
                   a0 ? a0 : "?", mt ? mt : "?");
}

static int parse(json_t *root, const char *path, cl_config *c) {
    int mm = 0, mistral = 0, arch = arch_of(root, path, &mm, &mistral);
    if (arch < 0) return -1;
    c->arch = (cl_arch)arch;
    src s = {root, path};
    if (mm) {
        s.o = json_object_get(root, "text_config");
        if (!json_is_object(s.o)) return cl_fail("%s: text_config missing", path);
    }
    int gemma = c->arch == CL_ARCH_GEMMA3, req = !gemma; /* Gemma3TextConfig has defaults for all */
    if (get_int(&s, "hidden_size", &c->dim, 2304, req) || get_int(&s, "num_hidden_layers", &c->n_layers, 26, req) ||
        get_int(&s, "num_attention_heads", &c->n_heads, 8, req) ||
        get_int(&s, "intermediate_size", &c->ffn_dim, 9216, req) ||
        get_int(&s, "vocab_size", &c->n_vocab, 262208, req) ||
        get_int(&s, "num_key_value_heads", &c->n_kv_heads, gemma ? 4 : c->n_heads, 0) ||
        get_int(&s, "max_position_embeddings", &c->max_ctx, gemma ? 131072 : 2048, 0) ||
        get_int(&s, "bos_token_id", &c->bos_id, gemma ? 2 : -1, 0) ||
        get_num(&s, "rope_theta", &c->rope_theta, gemma ? 1e6f : 10000.0f) ||
        get_num(&s, "rms_norm_eps", &c->rms_eps, 1e-6f) ||
        get_bool(&s, "tie_word_embeddings", &c->tied_embeddings, gemma) ||
        get_bool(&s, "attention_bias", &c->attn_bias, 0))
        return -1;
    if (mm && get(&s, "tie_word_embeddings") == NULL) {   /* Gemma3Config keeps it at the top */
        src top = {root, path};
        if (get_bool(&top, "tie_word_embeddings", &c->tied_embeddings, 1)) return -1;
    }
    c->eos_id = gemma ? 1 : -1;
    json_t *eos = get(&s, "eos_token_id");
    if (!eos && mm) eos = json_object_get(root, "eos_token_id");
    if (get_stops(path, eos, c, 1)) return -1;
    if (c->eos_id >= 0 && cl_config_add_stop(c, c->eos_id)) return cl_fail_prefix("%s", path);
    if (c->n_heads <= 0 || c->dim <= 0 || c->n_layers <= 0)
        return cl_fail("%s: hidden_size, num_hidden_layers and num_attention_heads must be positive", path);
    if (c->n_layers > CL_MAX_LAYERS) return cl_fail("%s: %d layers: at most %d supported", path, c->n_layers, CL_MAX_LAYERS);
    if (get(&s, "head_dim")) {
        if (get_int(&s, "head_dim", &c->head_dim, 0, 1)) return -1;
    } else if (gemma) {
        c->head_dim = 256;
    } else {
        if (c->dim % c->n_heads)
            return cl_fail("%s: hidden_size %d is not a multiple of num_attention_heads %d", path, c->dim, c->n_heads);
        c->head_dim = c->dim / c->n_heads;
    }
    if (refuse_keys(&s, c) || get_act(&s, c) || get_rope(&s, c) || get_window(&s, c)) return -1;
    if (c->arch == CL_ARCH_LLAMA && !mistral) {   /* LlamaForCausalLM has no sliding window */
        c->sliding_window = 0;
        memset(c->layer_window, 0, sizeof c->layer_window);
    }
    if (c->arch == CL_ARCH_QWEN2) c->attn_bias = 1;
    c->qk_norm = c->arch == CL_ARCH_QWEN3 || gemma;
    c->rope_interleaved = 0;
    if (gemma) {
        float qpas;
        if ((c->rope_theta_local == 0 && get_num(&s, "rope_local_base_freq", &c->rope_theta_local, 10000.0f)) ||
            get_num(&s, "query_pre_attn_scalar", &qpas, 256))
            return -1;
        if (!(qpas > 0)) return cl_fail("%s: query_pre_attn_scalar = %g", path, (double)qpas);
        c->attn_scale = (float)(1.0 / sqrt((double)qpas));
        c->post_norms = 1;
        c->norm_plus_one = 1;
        c->embd_scale = sqrtf((float)c->dim);   /* rounded to the embedding dtype by the loader */
    }
    return 0;
}

int cl_hf_config_load(const char *path, cl_config *c) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return cl_fail("%s: line %d: %s", path, je.line, je.text);
    memset(c, 0, sizeof *c);
    int rc = -1;
    if (!json_is_object(root)) cl_fail("%s: not a JSON object", path);
    else if (parse(root, path, c) == 0) rc = cl_config_validate(c) ? cl_fail_prefix("%s", path) : 0;
    json_decref(root);
    return rc;
}

int cl_hf_generation_config_load(const char *path, cl_config *c) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return cl_fail("%s: line %d: %s", path, je.line, je.text);
    int rc = json_is_object(root) ? get_stops(path, json_object_get(root, "eos_token_id"), c, 0)
                                  : cl_fail("%s: not a JSON object", path);
    for (int i = 0; rc == 0 && i < c->n_stop; i++)
        if (c->stop_ids[i] >= c->n_vocab) rc = cl_fail("%s: eos_token_id %d outside the vocabulary", path, c->stop_ids[i]);
    json_decref(root);
    return rc;
}
