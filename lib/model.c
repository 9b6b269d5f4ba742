/* model.c — a model's weights: matrices viewed in the file's dtype, small vectors in an f32
 * arena (see model.h). */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "rope.h"
#include "sample.h"
#include "util.h"

typedef struct {
    const cl_model_file *mf;   /* NULL: random weights from rng */
    cl_rng rng;
    int dim;
    float *arena;
    size_t used;      /* floats handed out so far */
    int count_only;   /* first pass: only add up sizes */
} loader;

/* Random weights: norm gains near 1, everything else uniform with variance 1/(3 fan_in). */
static void fill_random(loader *L, float *dst, const char *name, int64_t nelem) {
    size_t ln = strlen(name);
    int norm = ln >= 11 && !strcmp(name + ln - 11, "norm.weight");
    int64_t fan_in = strstr(name, "ffn_down") ? nelem / L->dim : L->dim;
    if (strstr(name, "attn_output")) fan_in = nelem / L->dim;
    float a = norm ? 0.1f : 1.0f / sqrtf((float)(fan_in > 0 ? fan_in : 1));
    int freqs = !strcmp(name, "rope_freqs.weight");   /* frequency divisors: in [1, 4] */
    for (int64_t i = 0; i < nelem; i++) {
        float u = (float)cl_rng_uniform(&L->rng) * 2.0f - 1.0f;
        dst[i] = freqs ? 1.0f + 3.0f * u * u : norm ? 1.0f + a * u : a * u;
    }
}

/* Next f32 weight: checks its element count, converts it into the arena (random mode: fills
 * it).  Optional tensors that are absent give NULL (and count nothing).  In random mode the
 * optional tensors exist exactly when the config asks for them. */
static int take(loader *L, float **dst, const char *name, int64_t nelem, int optional) {
    *dst = NULL;
    if (!L->mf) {
        if (optional) return 0;
        if (!L->count_only) {
            *dst = L->arena + L->used;
            fill_random(L, *dst, name, nelem);
        }
        L->used += (size_t)nelem;
        return 0;
    }
    const cl_tensor *t = cl_model_file_tensor(L->mf, name);
    if (!t) {
        if (optional) return 0;
        return cl_fail("%s: missing tensor %s", cl_model_file_path(L->mf), name);
    }
    if (cl_tensor_nelem(t) != nelem)
        return cl_fail("%s: tensor %s has %lld elements, expected %lld", cl_model_file_path(L->mf),
                       name, (long long)cl_tensor_nelem(t), (long long)nelem);
    if (!L->count_only) {
        *dst = L->arena + L->used;
        if (cl_tensor_to_f32(t, *dst) < 0) return -1;
        size_t ln = strlen(name);
        if (cl_model_file_config(L->mf)->norm_plus_one && ln >= 11 && !strcmp(name + ln - 11, "norm.weight"))
            for (int64_t i = 0; i < nelem; i++) (*dst)[i] += 1.0f;
    }
    L->used += (size_t)nelem;
    return 0;
}

/* Next matrix [rows, cols]: a view of the file's data in its dtype; f32 data that is not 4-byte
 * aligned, and every matrix of a random model, go through take() into the arena. */
static int take_mat(loader *L, cl_mat *dst, const char *name, int64_t rows, int64_t cols, int optional) {
    memset(dst, 0, sizeof *dst);
    const cl_tensor *t = L->mf ? cl_model_file_tensor(L->mf, name) : NULL;
    if (t && cl_tensor_nelem(t) == rows * cols && (t->dtype != CL_F32 || (uintptr_t)t->data % 4 == 0)) {
        if (cl_dtype_bytes(t->dtype, cols) < 0 || (uint64_t)cl_dtype_bytes(t->dtype, rows * cols) > t->nbytes)
            return cl_fail_prefix("%s: tensor %s", cl_model_file_path(L->mf), name);
        return cl_mat_view(dst, t->dtype, t->data, (int)rows, (int)cols);
    }
    float *p;
    if (take(L, &p, name, rows * cols, optional) < 0) return -1;
    if (p || (L->count_only && !optional)) *dst = cl_mat_f32(p, (int)rows, (int)cols);
    return 0;
}

static int load_all(loader *L, cl_model *m) {
    const cl_config *c = &m->cfg;
    int64_t dim = c->dim, hd = c->head_dim, qd = (int64_t)c->n_heads * hd,
            kvd = (int64_t)c->n_kv_heads * hd, ffn = c->ffn_dim, V = c->n_vocab;
    char nm[96];
    if (take_mat(L, &m->tok_embd, "token_embd.weight", V, dim, 0) < 0) return -1;
    if (take(L, &m->out_norm, "output_norm.weight", dim, 0) < 0) return -1;
    if (take_mat(L, &m->output, "output.weight", V, dim, c->tied_embeddings) < 0) return -1;
    if (!m->output.data && !m->output.rows) m->output = m->tok_embd;
    if (take(L, &m->rope_freqs, "rope_freqs.weight", hd / 2, !c->rope_freqs) < 0) return -1;
    if (!c->rope_freqs) m->rope_freqs = NULL;
    for (int l = 0; l < c->n_layers; l++) {
        cl_layer *y = &m->layers[l];
        /* in file order (random weights are drawn in this order); a vector or a matrix */
        struct { float **p; cl_mat *w; const char *n; int64_t rows, cols; int opt; } w[] = {
            {&y->attn_norm, NULL, "attn_norm.weight", 1, dim, 0},
            {NULL, &y->wq, "attn_q.weight", qd, dim, 0},
            {NULL, &y->wk, "attn_k.weight", kvd, dim, 0},
            {NULL, &y->wv, "attn_v.weight", kvd, dim, 0},
            {NULL, &y->wo, "attn_output.weight", dim, qd, 0},
            {&y->bq, NULL, "attn_q.bias", 1, qd, !c->attn_bias},
            {&y->bk, NULL, "attn_k.bias", 1, kvd, !c->attn_bias},
            {&y->bv, NULL, "attn_v.bias", 1, kvd, !c->attn_bias},
            {&y->q_norm, NULL, "attn_q_norm.weight", 1, hd, !c->qk_norm},
            {&y->k_norm, NULL, "attn_k_norm.weight", 1, hd, !c->qk_norm},
            {&y->ffn_norm, NULL, "ffn_norm.weight", 1, dim, 0},
            {NULL, &y->w_gate, "ffn_gate.weight", ffn, dim, 0},
            {NULL, &y->w_up, "ffn_up.weight", ffn, dim, 0},
            {NULL, &y->w_down, "ffn_down.weight", dim, ffn, 0},
            {&y->attn_post_norm, NULL, "post_attention_norm.weight", 1, dim, !c->post_norms},
            {&y->ffn_post_norm, NULL, "post_ffw_norm.weight", 1, dim, !c->post_norms},
        };
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
            snprintf(nm, sizeof nm, "blk.%d.%s", l, w[i].n);
            int rc = w[i].p ? take(L, w[i].p, nm, w[i].rows * w[i].cols, w[i].opt)
                            : take_mat(L, w[i].w, nm, w[i].rows, w[i].cols, w[i].opt);
            if (rc < 0) return -1;
        }
        /* Flags and tensors must agree: a bias the config does not announce would be ignored. */
        if (!c->attn_bias) y->bq = y->bk = y->bv = NULL;
        if (!c->qk_norm) y->q_norm = y->k_norm = NULL;
        if (!c->post_norms) y->attn_post_norm = y->ffn_post_norm = NULL;
    }
    return 0;
}

/* Each f32 matrix's extent (cl_gemm_const/forget: the GPU offload keeps copies of them). */
static void for_each_f32_mat(const cl_model *m, void (*f)(const void *, size_t)) {
    if (!m->layers) return;
    if (m->tok_embd.dtype == CL_F32 && m->tok_embd.data) f(m->tok_embd.data, cl_mat_bytes(&m->tok_embd));
    if (m->output.dtype == CL_F32 && m->output.data && m->output.data != m->tok_embd.data)
        f(m->output.data, cl_mat_bytes(&m->output));
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const cl_layer *y = &m->layers[l];
        const cl_mat *w[] = {&y->wq, &y->wk, &y->wv, &y->wo, &y->w_gate, &y->w_up, &y->w_down};
        for (int i = 0; i < 7; i++)
            if (w[i]->dtype == CL_F32 && w[i]->data) f(w[i]->data, cl_mat_bytes(w[i]));
    }
}

static void forget(const void *p, size_t bytes) {
    (void)bytes;
    cl_gemm_forget(p);
}

/* Shared by cl_model_load (mf set) and cl_model_random (mf NULL). */
static cl_model *build(const cl_config *c, const cl_model_file *mf, uint64_t seed) {
    const char *path = mf ? cl_model_file_path(mf) : "random model";
    if (cl_config_validate(c) < 0) return NULL;
    if (c->n_layers > 256) {
        cl_fail("%s: %d layers: at most 256 supported", path, c->n_layers);
        return NULL;
    }
    cl_model *m = cl_calloc(1, sizeof *m);
    m->cfg = *c;
    m->layers = cl_calloc((size_t)c->n_layers, sizeof *m->layers);
    loader L = {.mf = mf, .count_only = 1, .dim = c->dim};
    cl_rng_seed(&L.rng, seed);
    if (load_all(&L, m) < 0) goto fail;
    size_t bytes;
    if (cl_mul_overflow(L.used, sizeof(float), &bytes) < 0) goto fail;
    L.arena = malloc(bytes ? bytes : 1);
    if (!L.arena) {
        cl_fail("%s: cannot allocate %zu MiB for the weights", path, bytes >> 20);
        goto fail;
    }
    m->arena = L.arena;
    L.used = 0;
    L.count_only = 0;
    if (load_all(&L, m) < 0) goto fail;
    if (mf) {
        cl_model_file_fingerprint(mf, m->fingerprint);
    } else {   /* the seed and shape identify a random model */
        cl_sha256 h;
        cl_sha256_init(&h);
        cl_sha256_update(&h, c, sizeof *c);
        cl_sha256_update(&h, &seed, sizeof seed);
        cl_sha256_final(&h, m->fingerprint);
    }
    if (mf) {
        cl_model_file_retain(mf);
        m->mf = mf;
    }
    for (int k = 0; k < 2; k++) {
        m->rope_inv[k] = cl_malloc((size_t)(c->head_dim / 2) * sizeof(double));
        cl_rope_inv_freq(m->rope_inv[k], &m->rope_mscale[k], c, k, k ? NULL : m->rope_freqs);
    }
    for_each_f32_mat(m, cl_gemm_const);   /* the weights stay put: a GPU offload may keep copies */
    return m;
fail:
    cl_model_free(m);
    return NULL;
}

cl_model *cl_model_load(const cl_model_file *mf) {
    return build(cl_model_file_config(mf), mf, 0);
}

cl_model *cl_model_random(const cl_config *c, uint64_t seed) { return build(c, NULL, seed); }

void cl_model_free(cl_model *m) {
    if (!m) return;
    for_each_f32_mat(m, forget);
    free(m->arena);
    cl_model_file_close((cl_model_file *)m->mf);
    free(m->rope_inv[0]);
    free(m->rope_inv[1]);
    free(m->layers);
    free(m);
}
