/* train_model.c — decoder forward with saved activations, and backward (see train_model.h). */
#include "train_model.h"
#include <stdlib.h>
#include <string.h>
#include "train_ops.h"
#include "util.h"

void tr_lora_dims(const cl_config *c, int target, int *in, int *out) {
    int D = c->dim, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim, F = c->ffn_dim;
    switch (target) {
    case CL_LORA_Q: *in = D; *out = q; break;
    case CL_LORA_K: case CL_LORA_V: *in = D; *out = kv; break;
    case CL_LORA_O: *in = q; *out = D; break;
    case CL_LORA_GATE: case CL_LORA_UP: *in = D; *out = F; break;
    default: *in = F; *out = D; break;
    }
}

/* Lay the tape out in a buffer (base == NULL: just count).  Returns floats used. */
static size_t layout(tr_tape *t, const cl_config *c, int r, int T, long psize, float *base) {
    size_t off = 0;
    int D = c->dim, Q = c->n_heads * c->head_dim, KV = c->n_kv_heads * c->head_dim, F = c->ffn_dim;
    int wide = Q > F ? Q : F;
    wide = wide > D ? wide : D;
#define TAKE(ptr, n) do { size_t n_ = (size_t)(n); if (base) (ptr) = base + off; off += (n_ + 15) & ~(size_t)15; } while (0)
    for (int l = 0; l <= c->n_layers; l++) TAKE(t->x[l], (long)T * D);
    for (int l = 0; l < c->n_layers; l++) {
        tr_layer_acts *a = &t->la[l];
        TAKE(a->xn1, (long)T * D); TAKE(a->rstd1, T);
        TAKE(a->q, (long)T * Q); TAKE(a->k, (long)T * KV); TAKE(a->v, (long)T * KV);
        TAKE(a->P, psize); TAKE(a->att, (long)T * Q);
        TAKE(a->xmid, (long)T * D); TAKE(a->xn2, (long)T * D); TAKE(a->rstd2, T);
        TAKE(a->g, (long)T * F); TAKE(a->u, (long)T * F); TAKE(a->h, (long)T * F);
        for (int k = 0; k < CL_LORA_NT; k++) TAKE(a->lu[k], r > 0 ? (long)T * r : 0);
    }
    TAKE(t->xf, (long)T * D); TAKE(t->rstdf, T);
    TAKE(t->dx, (long)T * D); TAKE(t->dxm, (long)T * D); TAKE(t->dxn, (long)T * D);
    TAKE(t->dq, (long)T * Q); TAKE(t->dk, (long)T * KV); TAKE(t->dv, (long)T * KV);
    TAKE(t->datt, (long)T * wide); TAKE(t->dg, (long)T * F); TAKE(t->du, (long)T * F);
    TAKE(t->dh, (long)T * F); TAKE(t->dlu, r > 0 ? (long)T * r : 0);
#undef TAKE
    return off;
}

static long max_sq(int n_seq, const int *seq_len) {
    long m = 0;
    for (int s = 0; s < n_seq; s++) m = (long)seq_len[s] * seq_len[s] > m ? (long)seq_len[s] * seq_len[s] : m;
    return m;
}

size_t tr_tape_floats(const cl_config *c, int lora_rank, int n_seq, const int *seq_len) {
    tr_tape t;
    memset(&t, 0, sizeof t);
    t.x = cl_calloc((size_t)c->n_layers + 1, sizeof *t.x);
    t.la = cl_calloc((size_t)c->n_layers, sizeof *t.la);
    int T = 0;
    for (int s = 0; s < n_seq; s++) T += seq_len[s];
    /* + the attention-backward scratch (ds: the largest L_s^2) */
    size_t n = layout(&t, c, lora_rank, T, tr_attn_psize(n_seq, seq_len, c->n_heads), NULL) +
               (size_t)max_sq(n_seq, seq_len) + 16;
    free(t.x);
    free(t.la);
    return n;
}

void tr_tape_init(tr_tape *t) { memset(t, 0, sizeof *t); }

void tr_tape_free(tr_tape *t) {
    free(t->arena);
    free(t->x);
    free(t->la);
    free(t->seq_len);
    free(t->pos);
    memset(t, 0, sizeof *t);
}

int tr_forward(tr_tape *t, const cl_model *m, const cl_lora *lora, const float *embd, int n_seq,
               const int *seq_len) {
    const cl_config *c = &m->cfg;
    if (c->qk_norm) return cl_fail("train: qwen3 q/k norm is not supported by the trainer");
    if (cl_config_require_plain(c, "train") < 0) return -1;
    if (n_seq < 1) return cl_fail("train: empty batch");
    int T = 0;
    for (int s = 0; s < n_seq; s++) {
        if (seq_len[s] < 1) return cl_fail("train: empty sequence in batch");
        T += seq_len[s];
    }
    int r = lora ? lora->rank : 0;
    size_t need = tr_tape_floats(c, r, n_seq, seq_len);
    if (!t->x) {
        t->x = cl_calloc((size_t)c->n_layers + 1, sizeof *t->x);
        t->la = cl_calloc((size_t)c->n_layers, sizeof *t->la);
    }
    if (need > t->arena_floats) {
        free(t->arena);
        t->arena = cl_malloc(need * sizeof(float));
        t->arena_floats = need;
    }
    if (n_seq > t->cap_seq) {
        t->seq_len = cl_realloc(t->seq_len, (size_t)n_seq * sizeof(int));
        t->cap_seq = n_seq;
    }
    free(t->pos);
    t->pos = cl_malloc((size_t)T * sizeof(int));
    long psize = tr_attn_psize(n_seq, seq_len, c->n_heads);
    size_t used = layout(t, c, r, T, psize, t->arena);
    t->ds = t->arena + used;
    t->m = m; t->lora = lora; t->T = T; t->n_seq = n_seq;
    memcpy(t->seq_len, seq_len, (size_t)n_seq * sizeof(int));
    for (int s = 0, p = 0; s < n_seq; s++)
        for (int i = 0; i < seq_len[s]; i++) t->pos[p++] = i;

    int D = c->dim, H = c->n_heads, KVH = c->n_kv_heads, hd = c->head_dim;
    int Q = H * hd, KV = KVH * hd, F = c->ffn_dim;
    memcpy(t->x[0], embd, (size_t)T * D * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        const cl_layer *w = &m->layers[l];
        tr_layer_acts *a = &t->la[l];
        const float *xin = t->x[l];
        float *const *A = lora ? lora->A[l] : NULL;
        float *const *B = lora ? lora->B[l] : NULL;
#define LORA(k, xx, yy, in, out) \
        if (lora && A[k]) tr_lora_fwd(xx, A[k], B[k], r, lora->scale, T, in, out, a->lu[k], yy)
        tr_rmsnorm_fwd(xin, w->attn_norm, T, D, c->rms_eps, a->xn1, a->rstd1);
        tr_linear_fwd_w(a->xn1, &w->wq, w->bq, T, a->q);
        LORA(CL_LORA_Q, a->xn1, a->q, D, Q);
        tr_linear_fwd_w(a->xn1, &w->wk, w->bk, T, a->k);
        LORA(CL_LORA_K, a->xn1, a->k, D, KV);
        tr_linear_fwd_w(a->xn1, &w->wv, w->bv, T, a->v);
        LORA(CL_LORA_V, a->xn1, a->v, D, KV);
        tr_rope(a->q, T, t->pos, H, hd, c->rope_theta, c->rope_interleaved, 0);
        tr_rope(a->k, T, t->pos, KVH, hd, c->rope_theta, c->rope_interleaved, 0);
        tr_attn_fwd(a->q, a->k, a->v, n_seq, seq_len, H, KVH, hd, a->P, a->att);
        tr_linear_fwd_w(a->att, &w->wo, NULL, T, a->xmid);
        LORA(CL_LORA_O, a->att, a->xmid, Q, D);
        for (long i = 0; i < (long)T * D; i++) a->xmid[i] += xin[i];
        tr_rmsnorm_fwd(a->xmid, w->ffn_norm, T, D, c->rms_eps, a->xn2, a->rstd2);
        tr_linear_fwd_w(a->xn2, &w->w_gate, NULL, T, a->g);
        LORA(CL_LORA_GATE, a->xn2, a->g, D, F);
        tr_linear_fwd_w(a->xn2, &w->w_up, NULL, T, a->u);
        LORA(CL_LORA_UP, a->xn2, a->u, D, F);
        tr_swiglu_fwd(a->g, a->u, (long)T * F, a->h);
        float *xo = t->x[l + 1];
        tr_linear_fwd_w(a->h, &w->w_down, NULL, T, xo);
        LORA(CL_LORA_DOWN, a->h, xo, F, D);
        for (long i = 0; i < (long)T * D; i++) xo[i] += a->xmid[i];
#undef LORA
    }
    tr_rmsnorm_fwd(t->x[c->n_layers], m->out_norm, T, D, c->rms_eps, t->xf, t->rstdf);
    return 0;
}

int tr_backward(tr_tape *t, const float *d_final, float *const *d_layer, float *d_embd,
                cl_lora *g_lora) {
    const cl_model *m = t->m;
    const cl_config *c = &m->cfg;
    const cl_lora *lora = t->lora;
    int T = t->T, D = c->dim, H = c->n_heads, KVH = c->n_kv_heads, hd = c->head_dim;
    int Q = H * hd, KV = KVH * hd, F = c->ffn_dim, r = lora ? lora->rank : 0;
    size_t TD = (size_t)T * D;
    float *dx = t->dx, *dxm = t->dxm;
    memset(dx, 0, TD * sizeof(float));
    if (d_final) tr_rmsnorm_bwd(t->x[c->n_layers], m->out_norm, t->rstdf, d_final, T, D, dx);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const cl_layer *w = &m->layers[l];
        tr_layer_acts *a = &t->la[l];
        if (d_layer && d_layer[l + 1])
            for (size_t i = 0; i < TD; i++) dx[i] += d_layer[l + 1][i];
        int need_dx = l > 0 || d_embd || (d_layer && d_layer[0]);
#define LORA_B(k, xx, dyy, dxx, in, out) \
        if (lora && lora->A[l][k]) \
            tr_lora_bwd(xx, a->lu[k], lora->A[l][k], lora->B[l][k], r, lora->scale, T, in, out, dyy, \
                        dxx, g_lora ? g_lora->A[l][k] : NULL, g_lora ? g_lora->B[l][k] : NULL, t->dlu)
        /* MLP: x_out = xmid + down(swiglu(gate xn2, up xn2)) */
        memcpy(dxm, dx, TD * sizeof(float));
        memset(t->dh, 0, (size_t)T * F * sizeof(float));
        tr_linear_bwd_x_w(dx, &w->w_down, T, t->dh);
        LORA_B(CL_LORA_DOWN, a->h, dx, t->dh, F, D);
        memset(t->dg, 0, (size_t)T * F * sizeof(float));
        memset(t->du, 0, (size_t)T * F * sizeof(float));
        tr_swiglu_bwd(a->g, a->u, t->dh, (long)T * F, t->dg, t->du);
        memset(t->dxn, 0, TD * sizeof(float));
        tr_linear_bwd_x_w(t->dg, &w->w_gate, T, t->dxn);
        LORA_B(CL_LORA_GATE, a->xn2, t->dg, t->dxn, D, F);
        tr_linear_bwd_x_w(t->du, &w->w_up, T, t->dxn);
        LORA_B(CL_LORA_UP, a->xn2, t->du, t->dxn, D, F);
        tr_rmsnorm_bwd(a->xmid, w->ffn_norm, a->rstd2, t->dxn, T, D, dxm);
        /* attention: xmid = xin + o(attn(rope(q), rope(k), v)) */
        memset(t->datt, 0, (size_t)T * Q * sizeof(float));
        tr_linear_bwd_x_w(dxm, &w->wo, T, t->datt);
        LORA_B(CL_LORA_O, a->att, dxm, t->datt, Q, D);
        memset(t->dq, 0, (size_t)T * Q * sizeof(float));
        memset(t->dk, 0, (size_t)T * KV * sizeof(float));
        memset(t->dv, 0, (size_t)T * KV * sizeof(float));
        tr_attn_bwd(a->q, a->k, a->v, a->P, t->datt, t->n_seq, t->seq_len, H, KVH, hd, t->dq, t->dk,
                    t->dv, t->ds);
        tr_rope(t->dq, T, t->pos, H, hd, c->rope_theta, c->rope_interleaved, 1);
        tr_rope(t->dk, T, t->pos, KVH, hd, c->rope_theta, c->rope_interleaved, 1);
        float *dxn = need_dx ? t->dxn : NULL;
        if (need_dx) {
            memset(t->dxn, 0, TD * sizeof(float));
            tr_linear_bwd_x_w(t->dq, &w->wq, T, t->dxn);
            tr_linear_bwd_x_w(t->dk, &w->wk, T, t->dxn);
            tr_linear_bwd_x_w(t->dv, &w->wv, T, t->dxn);
        }
        LORA_B(CL_LORA_Q, a->xn1, t->dq, dxn, D, Q);
        LORA_B(CL_LORA_K, a->xn1, t->dk, dxn, D, KV);
        LORA_B(CL_LORA_V, a->xn1, t->dv, dxn, D, KV);
#undef LORA_B
        /* dx <- dxm + rmsnorm_bwd(dxn) */
        memcpy(dx, dxm, TD * sizeof(float));
        if (need_dx) tr_rmsnorm_bwd(t->x[l], w->attn_norm, a->rstd1, t->dxn, T, D, dx);
    }
    if (d_layer && d_layer[0])
        for (size_t i = 0; i < TD; i++) dx[i] += d_layer[0][i];
    if (d_embd) memcpy(d_embd, dx, TD * sizeof(float));
    return 0;
}
