/* st_build.h — test helper: write .safetensors files and tiny Hugging Face model directories
 * (random weights) by hand, independently of the reader under test. */
#ifndef CL_ST_BUILD_H
#define CL_ST_BUILD_H
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tensor.h"

typedef struct {
    json_t *hdr;
    unsigned char *data;
    size_t n, cap;
} st_build;

static inline void st_init(st_build *b) {
    b->hdr = json_object();
    b->data = NULL;
    b->n = b->cap = 0;
}

/* Add a tensor: dtype "F32"/"F16"/"BF16"/..., shape, raw bytes. */
static inline void st_add(st_build *b, const char *name, const char *dtype, int ndim, const long long *shape,
                          const void *bytes, size_t nbytes) {
    json_t *e = json_object(), *s = json_array(), *o = json_array();
    for (int i = 0; i < ndim; i++) json_array_append_new(s, json_integer(shape[i]));
    json_array_append_new(o, json_integer((json_int_t)b->n));
    json_array_append_new(o, json_integer((json_int_t)(b->n + nbytes)));
    json_object_set_new(e, "dtype", json_string(dtype));
    json_object_set_new(e, "shape", s);
    json_object_set_new(e, "data_offsets", o);
    json_object_set_new(b->hdr, name, e);
    if (b->n + nbytes > b->cap) b->data = realloc(b->data, b->cap = (b->n + nbytes) * 2 + 64);
    if (nbytes) memcpy(b->data + b->n, bytes, nbytes);
    b->n += nbytes;
}

/* Serialize (header padded with spaces to a multiple of 8, as the Python library does). */
static inline unsigned char *st_bytes(st_build *b, size_t *len) {
    char *h = json_dumps(b->hdr, JSON_COMPACT);
    size_t hl = strlen(h), padded = (hl + 7) / 8 * 8;
    *len = 8 + padded + b->n;
    unsigned char *out = malloc(*len);
    unsigned long long v = padded;
    memcpy(out, &v, 8);
    memcpy(out + 8, h, hl);
    memset(out + 8 + hl, ' ', padded - hl);
    if (b->n) memcpy(out + 8 + padded, b->data, b->n);
    free(h);
    return out;
}

static inline int st_save(st_build *b, const char *path) {
    size_t len;
    unsigned char *p = st_bytes(b, &len);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, len, f) == len;
    if (f) fclose(f);
    free(p);
    return ok ? 0 : -1;
}

static inline void st_free(st_build *b) {
    json_decref(b->hdr);
    free(b->data);
}

/* Deterministic pseudo-random f32 tensor of n values in [-0.5, 0.5). */
static inline float *st_rand(size_t n, unsigned seed) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return x;
}

static inline void st_add_rand(st_build *b, const char *name, long long d0, long long d1, unsigned seed) {
    long long shape[2] = {d0, d1};
    size_t n = (size_t)(d0 * (d1 ? d1 : 1));
    float *x = st_rand(n, seed);
    st_add(b, name, "F32", d1 ? 2 : 1, shape, x, n * 4);
    free(x);
}

typedef struct {
    const char *arch_class;  /* LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM */
    int dim, layers, heads, kv_heads, head_dim, ffn, vocab;
    int tied, store_embed, store_head; /* which of embed_tokens / lm_head the file holds */
} hf_spec;

/* Write config.json and the weights (one file, or split over two shards + index). */
static inline int hf_write(const char *dir, const hf_spec *s, int sharded, const char *skip, const char *bad_shape) {
    mkdir(dir, 0755);
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"architectures\": [\"%s\"], \"hidden_size\": %d, \"num_hidden_layers\": %d, "
            "\"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"head_dim\": %d, \"intermediate_size\": %d, "
            "\"vocab_size\": %d, \"max_position_embeddings\": 64, \"rope_theta\": 500000.0, \"rms_norm_eps\": 1e-05, "
            "\"tie_word_embeddings\": %s, \"bos_token_id\": 1, \"eos_token_id\": [2, 3]}\n",
            s->arch_class, s->dim, s->layers, s->heads, s->kv_heads, s->head_dim, s->ffn, s->vocab,
            s->tied ? "true" : "false");
    fclose(f);
    st_build b[2];
    st_init(&b[0]);
    st_init(&b[1]);
    json_t *wm = json_object();
    unsigned seed = 1;
    int q = s->heads * s->head_dim, kv = s->kv_heads * s->head_dim;
    int is_qwen2 = strstr(s->arch_class, "Qwen2") != NULL, is_qwen3 = strstr(s->arch_class, "Qwen3") != NULL;
    struct { char name[128]; long long d0, d1; } t[256];
    int nt = 0;
#define T(nm, a, b_) (snprintf(t[nt].name, sizeof t[nt].name, "%s", nm), t[nt].d0 = (a), t[nt].d1 = (b_), nt++)
    if (s->store_embed) T("model.embed_tokens.weight", s->vocab, s->dim);
    if (s->store_head) T("lm_head.weight", s->vocab, s->dim);
    T("model.norm.weight", s->dim, 0);
    for (int l = 0; l < s->layers; l++) {
        char n[128];
#define L(suffix, a, b_) (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), T(n, a, b_))
        L("input_layernorm.weight", s->dim, 0);
        L("self_attn.q_proj.weight", q, s->dim);
        L("self_attn.k_proj.weight", kv, s->dim);
        L("self_attn.v_proj.weight", kv, s->dim);
        L("self_attn.o_proj.weight", s->dim, q);
        if (is_qwen2) {
            L("self_attn.q_proj.bias", q, 0);
            L("self_attn.k_proj.bias", kv, 0);
            L("self_attn.v_proj.bias", kv, 0);
        }
        if (is_qwen3) {
            L("self_attn.q_norm.weight", s->head_dim, 0);
            L("self_attn.k_norm.weight", s->head_dim, 0);
        }
        L("post_attention_layernorm.weight", s->dim, 0);
        L("mlp.gate_proj.weight", s->ffn, s->dim);
        L("mlp.up_proj.weight", s->ffn, s->dim);
        L("mlp.down_proj.weight", s->dim, s->ffn);
#undef L
    }
#undef T
    for (int i = 0; i < nt; i++) {
        if (skip && !strcmp(t[i].name, skip)) continue;
        long long d0 = t[i].d0 + (bad_shape && !strcmp(t[i].name, bad_shape));
        int shard = sharded ? i % 2 : 0;
        st_add_rand(&b[shard], t[i].name, d0, t[i].d1, seed++);
        json_object_set_new(wm, t[i].name, json_string(shard ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors"));
    }
    int rc = 0;
    if (sharded) {
        for (int k = 0; k < 2; k++) {
            snprintf(p, sizeof p, "%s/model-0000%d-of-00002.safetensors", dir, k + 1);
            rc |= st_save(&b[k], p);
        }
        json_t *idx = json_object();
        json_object_set_new(idx, "metadata", json_object());
        json_object_set(idx, "weight_map", wm);
        snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
        rc |= json_dump_file(idx, p, 0);
        json_decref(idx);
    } else {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        rc |= st_save(&b[0], p);
    }
    json_decref(wm);
    st_free(&b[0]);
    st_free(&b[1]);
    return rc;
}
#endif
