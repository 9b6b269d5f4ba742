/* train_rand.c — random-weight models (see train_rand.h). */
#include "train_rand.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

cl_model *tr_model_random(const cl_config *cfg, uint64_t seed, float std) {
    const cl_config *c = cfg;
    long D = c->dim, Q = (long)c->n_heads * c->head_dim, KV = (long)c->n_kv_heads * c->head_dim;
    long F = c->ffn_dim, V = c->n_vocab;
    long per = 2 * D + Q * D * 2 + KV * D * 2 + 3 * F * D + (c->attn_bias ? Q + 2 * KV : 0) +
               (c->qk_norm ? 2L * c->head_dim : 0) + (c->post_norms ? 2 * D : 0);
    long total = V * D * (c->tied_embeddings ? 1 : 2) + D + per * c->n_layers;
    cl_model *m = cl_calloc(1, sizeof *m);
    m->cfg = *c;
    float *w = cl_malloc((size_t)total * sizeof(float));
    m->arena = w;
    m->layers = cl_calloc((size_t)c->n_layers, sizeof *m->layers);
    cl_rng rng;
    cl_rng_seed(&rng, seed);
#define NORMW(p, n) do { p = w; w += (n); for (long i_ = 0; i_ < (n); i_++) p[i_] = 1.0f + 0.1f * cl_rng_normal(&rng); } while (0)
#define RANDW(p, n) do { p = w; w += (n); cl_rng_fill_normal(&rng, p, (n), std); } while (0)
#define RANDM(mat, r, k) do { float *p_; RANDW(p_, (long)(r) * (k)); mat = cl_mat_f32(p_, (int)(r), (int)(k)); } while (0)
    RANDM(m->tok_embd, V, D);
    if (c->tied_embeddings) m->output = m->tok_embd;
    else RANDM(m->output, V, D);
    NORMW(m->out_norm, D);
    for (int l = 0; l < c->n_layers; l++) {
        cl_layer *L = &m->layers[l];
        NORMW(L->attn_norm, D); NORMW(L->ffn_norm, D);
        RANDM(L->wq, Q, D); RANDM(L->wk, KV, D); RANDM(L->wv, KV, D); RANDM(L->wo, D, Q);
        RANDM(L->w_gate, F, D); RANDM(L->w_up, F, D); RANDM(L->w_down, D, F);
        if (c->attn_bias) { RANDW(L->bq, Q); RANDW(L->bk, KV); RANDW(L->bv, KV); }
        if (c->qk_norm) { NORMW(L->q_norm, c->head_dim); NORMW(L->k_norm, c->head_dim); }
        if (c->post_norms) { NORMW(L->attn_post_norm, D); NORMW(L->ffn_post_norm, D); }
    }
#undef NORMW
#undef RANDW
#undef RANDM
    return m;
}

void tr_model_random_free(cl_model *m) {
    if (!m) return;
    free(m->arena);
    free(m->layers);
    free(m);
}
