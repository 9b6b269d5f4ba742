/* train_backward.c — the decoder backward over a tape (see train_backward.h).  Each block's
 * backward mirrors forward.c's forward_span, in reverse. */
#include "train_backward.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train_ops.h"
#include "util.h"

/* Lay the scratch out (base == NULL: only count).  Returns floats used. */
static size_t layout(tr_grad_scratch *s, const cl_config *c, int r, int T, int max_len, float *base) {
    size_t off = 0;
    long D = c->dim, Q = (long)c->n_heads * c->head_dim, KV = (long)c->n_kv_heads * c->head_dim;
    long F = c->ffn_dim, wide = Q > D ? Q : D;
#define TAKE(ptr, n) do { size_t n_ = (size_t)(n); if (base) (ptr) = base + off; off += (n_ + 15) & ~(size_t)15; } while (0)
    TAKE(s->dx, T * D); TAKE(s->dxm, T * D); TAKE(s->dxn, T * wide);
    TAKE(s->dpo, c->post_norms ? T * D : 0);
    TAKE(s->dq, T * Q); TAKE(s->dk, T * KV); TAKE(s->dv, T * KV); TAKE(s->datt, T * Q);
    TAKE(s->dg, T * F); TAKE(s->du, T * F); TAKE(s->dh, T * F);
    TAKE(s->dlu, (long)T * (r > 0 ? r : 0));
    TAKE(s->neg_sin, (long)T * (c->head_dim / 2));
    TAKE(s->attn, 2L * max_len * max_len);
#undef TAKE
    return off;
}

size_t tr_grad_scratch_floats(const cl_config *c, int lora_rank, int T, int max_len) {
    return layout(NULL, c, lora_rank, T, max_len, NULL);
}

void tr_grad_scratch_free(tr_grad_scratch *s) {
    free(s->arena);
    memset(s, 0, sizeof *s);
}

int tr_backward(const cl_tape *t, tr_grad_scratch *s, const float *d_final, float *const *d_layer,
                float *d_embd, cl_lora *g_lora) {
    const cl_model *m = t->m;
    const cl_config *c = &m->cfg;
    const cl_lora *lora = t->lora;
    int T = t->T, D = c->dim, H = c->n_heads, KVH = c->n_kv_heads, hd = c->head_dim;
    int Q = H * hd, KV = KVH * hd, F = c->ffn_dim, r = lora ? lora->rank : 0;
    float eps = c->rms_eps, scale = c->attn_scale > 0 ? c->attn_scale : 1.0f / sqrtf((float)hd);
    int max_len = 0;
    for (int i = 0; i < t->n_seq; i++) max_len = t->seq_len[i] > max_len ? t->seq_len[i] : max_len;
    size_t need = layout(s, c, r, T, max_len, NULL);
    if (need > s->arena_floats) {
        free(s->arena);
        s->arena = cl_malloc(need * sizeof(float));
        s->arena_floats = need;
    }
    layout(s, c, r, T, max_len, s->arena);

    size_t TD = (size_t)T * D;
    float *dx = s->dx, *dxm = s->dxm;
    memset(dx, 0, TD * sizeof(float));
    if (d_final) tr_rmsnorm_bwd(t->x[c->n_layers], m->out_norm, d_final, T, D, eps, dx);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const cl_layer *w = &m->layers[l];
        const cl_tape_layer *a = &t->layer[l];
        if (d_layer && d_layer[l + 1])
            for (size_t i = 0; i < TD; i++) dx[i] += d_layer[l + 1][i];
        int need_dx = l > 0 || d_embd || (d_layer && d_layer[0]);
#define LORA_B(k, xx, dyy, dxx, in, out) \
        if (lora && a->lu[k]) \
            tr_lora_bwd(xx, a->lu[k], lora->A[l][k], lora->B[l][k], r, lora->scale, T, in, out, dyy, \
                        dxx, g_lora ? g_lora->A[l][k] : NULL, g_lora ? g_lora->B[l][k] : NULL, s->dlu)
        /* MLP: x[l+1] = xmid + [post_norm](down(act(gate xn2) * up xn2)), act silu or gelu_tanh */
        memcpy(dxm, dx, TD * sizeof(float));
        const float *dfo = dx;
        if (w->ffn_post_norm) {
            memset(s->dpo, 0, TD * sizeof(float));
            tr_rmsnorm_bwd(a->fo, w->ffn_post_norm, dx, T, D, eps, s->dpo);
            dfo = s->dpo;
        }
        memset(s->dh, 0, (size_t)T * F * sizeof(float));
        tr_mat_bwd_x(dfo, &w->w_down, T, s->dh);
        LORA_B(CL_LORA_DOWN, a->h, dfo, s->dh, F, D);
        memset(s->dg, 0, (size_t)T * F * sizeof(float));
        memset(s->du, 0, (size_t)T * F * sizeof(float));
        if (c->act == CL_ACT_GELU_TANH) tr_geglu_bwd(a->g, a->u, s->dh, (long)T * F, s->dg, s->du);
        else tr_swiglu_bwd(a->g, a->u, s->dh, (long)T * F, s->dg, s->du);
        memset(s->dxn, 0, TD * sizeof(float));
        tr_mat_bwd_x(s->dg, &w->w_gate, T, s->dxn);
        LORA_B(CL_LORA_GATE, a->xn2, s->dg, s->dxn, D, F);
        tr_mat_bwd_x(s->du, &w->w_up, T, s->dxn);
        LORA_B(CL_LORA_UP, a->xn2, s->du, s->dxn, D, F);
        tr_rmsnorm_bwd(a->xmid, w->ffn_norm, s->dxn, T, D, eps, dxm);
        /* attention: xmid = x[l] + [post_norm](o(attn(rope(norm(q)), rope(norm(k)), v))), the
         * layer's window, scale and RoPE table as forward.c chose them */
        const float *dao = dxm;
        if (w->attn_post_norm) {
            memset(s->dpo, 0, TD * sizeof(float));
            tr_rmsnorm_bwd(a->ao, w->attn_post_norm, dxm, T, D, eps, s->dpo);
            dao = s->dpo;
        }
        memset(s->datt, 0, (size_t)T * Q * sizeof(float));
        tr_mat_bwd_x(dao, &w->wo, T, s->datt);
        LORA_B(CL_LORA_O, a->att, dao, s->datt, Q, D);
        memset(s->dq, 0, (size_t)T * Q * sizeof(float));
        memset(s->dk, 0, (size_t)T * KV * sizeof(float));
        memset(s->dv, 0, (size_t)T * KV * sizeof(float));
        int local = cl_config_layer_local(c, l);
        tr_attn_bwd(a->q, a->k, a->v, s->datt, t->n_seq, t->seq_len, H, KVH, hd,
                    local ? c->sliding_window : 0, scale, s->dq, s->dk, s->dv, s->attn);
        const float *ct = local && t->cos_l ? t->cos_l : t->cos_t, *st = local && t->cos_l ? t->sin_l : t->sin_t;
        tr_rope_bwd(s->dq, T, H, hd, ct, st, c->rope_interleaved, s->neg_sin);
        tr_rope_bwd(s->dk, T, KVH, hd, ct, st, c->rope_interleaved, s->neg_sin);
        /* per-head q/k norm: the gradient wrt the projected q/k (dxn is free scratch here) */
        if (w->q_norm) {
            memset(s->dxn, 0, (size_t)T * Q * sizeof(float));
            tr_rmsnorm_bwd(a->qr, w->q_norm, s->dq, T * H, hd, eps, s->dxn);
            memcpy(s->dq, s->dxn, (size_t)T * Q * sizeof(float));
        }
        if (w->k_norm) {
            memset(s->dxn, 0, (size_t)T * KV * sizeof(float));
            tr_rmsnorm_bwd(a->kr, w->k_norm, s->dk, T * KVH, hd, eps, s->dxn);
            memcpy(s->dk, s->dxn, (size_t)T * KV * sizeof(float));
        }
        float *dxn = need_dx ? s->dxn : NULL;
        if (need_dx) {
            memset(s->dxn, 0, TD * sizeof(float));
            tr_mat_bwd_x(s->dq, &w->wq, T, s->dxn);
            tr_mat_bwd_x(s->dk, &w->wk, T, s->dxn);
            tr_mat_bwd_x(s->dv, &w->wv, T, s->dxn);
        }
        LORA_B(CL_LORA_Q, a->xn1, s->dq, dxn, D, Q);
        LORA_B(CL_LORA_K, a->xn1, s->dk, dxn, D, KV);
        LORA_B(CL_LORA_V, a->xn1, s->dv, dxn, D, KV);
#undef LORA_B
        /* dx <- dxm + rmsnorm_bwd(dxn) */
        memcpy(dx, dxm, TD * sizeof(float));
        if (need_dx) tr_rmsnorm_bwd(t->x[l], w->attn_norm, s->dxn, T, D, eps, dx);
    }
    if (d_layer && d_layer[0])
        for (size_t i = 0; i < TD; i++) dx[i] += d_layer[0][i];
    if (d_embd) memcpy(d_embd, dx, TD * sizeof(float));
    return 0;
}
