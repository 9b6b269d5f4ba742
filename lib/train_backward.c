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
    TAKE(s->c_dx, T * D); TAKE(s->c_dxm, T * D); TAKE(s->c_dxn, T * D); TAKE(s->c_dq, T * Q);
    TAKE(s->c_xn1, T * D); TAKE(s->c_xmid, T * D); TAKE(s->c_xn2, T * D); TAKE(s->c_att, T * Q);
    TAKE(s->c_po, c->post_norms ? T * D : 0);
    TAKE(s->c_g, T * F); TAKE(s->c_u, T * F); TAKE(s->c_h, T * F);
    for (int k = 0; k < CL_LORA_NT; k++) TAKE(s->c_lu[k], (long)T * (r > 0 ? r : 0));
#undef TAKE
    return off;
}

size_t tr_grad_scratch_floats(const cl_config *c, int lora_rank, int T, int max_len) {
    return layout(NULL, c, lora_rank, T, max_len, NULL);
}

void tr_grad_scratch_free(tr_grad_scratch *s) {
    free(s->arena);
    free(s->rows);
    free(s->q0);
    memset(s, 0, sizeof *s);
}

/* The rows of each sequence from its first row where g [T, D] is nonzero to its end, into
 * s->rows (and the first rows, 0-based within each sequence, into s->q0).  Returns their count. */
static int active_rows(const cl_tape *t, tr_grad_scratch *s, const float *g, int D) {
    int n = 0;
    for (int q = 0, t0 = 0; q < t->n_seq; t0 += t->seq_len[q++]) {
        int L = t->seq_len[q], i0 = 0;
        for (; i0 < L; i0++) {
            const float *row = g + (size_t)(t0 + i0) * D;
            int nz = 0;
            for (int j = 0; j < D && !nz; j++) nz = row[j] != 0.0f;
            if (nz) break;
        }
        s->q0[q] = i0;
        for (int i = i0; i < L; i++) s->rows[n++] = t0 + i;
    }
    return n;
}

/* rows[0..n) of src [*, w] into dst [n, w]; src itself when rows == NULL (all rows) or src == NULL. */
static const float *gather(const float *src, const int *rows, int n, int w, float *dst) {
    if (!rows || !src) return src;
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * w, src + (size_t)rows[i] * w, (size_t)w * sizeof(float));
    return dst;
}

/* dst rows[i] <- src row i (i < n). */
static void scatter(float *dst, const float *src, const int *rows, int n, int w) {
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)rows[i] * w, src + (size_t)i * w, (size_t)w * sizeof(float));
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
    if (T > s->rows_cap) { free(s->rows); s->rows = cl_malloc((size_t)T * sizeof(int)); s->rows_cap = T; }
    if (t->n_seq > s->q0_cap) { free(s->q0); s->q0 = cl_malloc((size_t)t->n_seq * sizeof(int)); s->q0_cap = t->n_seq; }

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
        /* n active rows (R == NULL: all T); *_n: the row-wise quantities at those rows */
        int n = active_rows(t, s, dx, D);
        const int *R = n < T && !s->all_rows ? s->rows : NULL, *q0 = s->q0;
        /* packed: the forward ran this (last) layer on the tape's top rows only (tape.h) */
        int packed = l == c->n_layers - 1 && t->top_n < T;
        if (packed) {
            for (int q = 0; q < t->n_seq; q++)
                if (s->q0[q] < t->top_from[q])
                    return cl_fail("backward: a gradient at row %d of sequence %d, above the forward's top_from %d",
                                   s->q0[q], q, t->top_from[q]);
            R = t->top_row;
            n = t->top_n;
            q0 = t->top_from;
        }
        if (!R) n = T;
        const int *RP = packed ? NULL : R;   /* rows to gather from the packed arrays */
#define LORA_B(k, xx, dyy, dxx, in, out, rows, nr) \
        if (lora && a->lu[k]) \
            tr_lora_bwd(xx, gather(a->lu[k], rows, nr, r, s->c_lu[k]), lora->A[l][k], lora->B[l][k], r, \
                        lora->scale, nr, in, out, dyy, dxx, g_lora ? g_lora->A[l][k] : NULL, \
                        g_lora ? g_lora->B[l][k] : NULL, s->dlu)
        /* MLP: x[l+1] = xmid + [post_norm](down(act(gate xn2) * up xn2)), act silu or gelu_tanh */
        size_t nD = (size_t)n * D, nF = (size_t)n * F;
        memcpy(dxm, dx, TD * sizeof(float));
        const float *dx_n = gather(dx, R, n, D, s->c_dx);
        float *dxm_n = R ? memcpy(s->c_dxm, dx_n, nD * sizeof(float)) : dxm;
        const float *dfo = dx_n;
        if (w->ffn_post_norm) {
            memset(s->dpo, 0, nD * sizeof(float));
            tr_rmsnorm_bwd(gather(a->fo, RP, n, D, s->c_po), w->ffn_post_norm, dx_n, n, D, eps, s->dpo);
            dfo = s->dpo;
        }
        memset(s->dh, 0, nF * sizeof(float));
        tr_mat_bwd_x(dfo, &w->w_down, n, s->dh);
        LORA_B(CL_LORA_DOWN, gather(a->h, RP, n, F, s->c_h), dfo, s->dh, F, D, RP, n);
        memset(s->dg, 0, nF * sizeof(float));
        memset(s->du, 0, nF * sizeof(float));
        const float *g_n = gather(a->g, RP, n, F, s->c_g), *u_n = gather(a->u, RP, n, F, s->c_u);
        if (c->act == CL_ACT_GELU_TANH) tr_geglu_bwd(g_n, u_n, s->dh, (long)nF, s->dg, s->du);
        else tr_swiglu_bwd(g_n, u_n, s->dh, (long)nF, s->dg, s->du);
        memset(s->dxn, 0, nD * sizeof(float));
        const float *xn2_n = gather(a->xn2, RP, n, D, s->c_xn2);
        tr_mat_bwd_x(s->dg, &w->w_gate, n, s->dxn);
        LORA_B(CL_LORA_GATE, xn2_n, s->dg, s->dxn, D, F, RP, n);
        tr_mat_bwd_x(s->du, &w->w_up, n, s->dxn);
        LORA_B(CL_LORA_UP, xn2_n, s->du, s->dxn, D, F, RP, n);
        tr_rmsnorm_bwd(gather(a->xmid, R, n, D, s->c_xmid), w->ffn_norm, s->dxn, n, D, eps, dxm_n);
        if (R) scatter(dxm, dxm_n, R, n, D);
        /* attention: xmid = x[l] + [post_norm](o(attn(rope(norm(q)), rope(norm(k)), v))), the
         * layer's window, scale and RoPE table as forward.c chose them */
        const float *dao = dxm_n;
        if (w->attn_post_norm) {
            memset(s->dpo, 0, nD * sizeof(float));
            tr_rmsnorm_bwd(gather(a->ao, RP, n, D, s->c_po), w->attn_post_norm, dxm_n, n, D, eps, s->dpo);
            dao = s->dpo;
        }
        float *datt_n = R ? s->c_dq : s->datt;   /* c_dq is free until dq is gathered */
        memset(datt_n, 0, (size_t)n * Q * sizeof(float));
        tr_mat_bwd_x(dao, &w->wo, n, datt_n);
        LORA_B(CL_LORA_O, gather(a->att, RP, n, Q, s->c_att), dao, datt_n, Q, D, RP, n);
        if (R) {
            memset(s->datt, 0, (size_t)T * Q * sizeof(float));
            scatter(s->datt, datt_n, R, n, Q);
        }
        memset(s->dq, 0, (size_t)T * Q * sizeof(float));
        memset(s->dk, 0, (size_t)T * KV * sizeof(float));
        memset(s->dv, 0, (size_t)T * KV * sizeof(float));
        int local = cl_config_layer_local(c, l);
        tr_attn_bwd(a->q, a->k, a->v, s->datt, t->n_seq, t->seq_len, R ? q0 : NULL, H, KVH, hd,
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
        /* dq is zero outside the active rows (their attention output gradient is) */
        const float *dq_n = gather(s->dq, R, n, Q, s->c_dq);
        float *dxn = need_dx ? s->dxn : NULL, *dxn_n = NULL;
        if (need_dx) {
            memset(s->dxn, 0, TD * sizeof(float));
            dxn_n = R ? memset(s->c_dxn, 0, nD * sizeof(float)) : s->dxn;
            tr_mat_bwd_x(dq_n, &w->wq, n, dxn_n);
            if (R) scatter(s->dxn, dxn_n, R, n, D);
            tr_mat_bwd_x(s->dk, &w->wk, T, s->dxn);
            tr_mat_bwd_x(s->dv, &w->wv, T, s->dxn);
            if (R) gather(s->dxn, R, n, D, dxn_n);
        }
        LORA_B(CL_LORA_Q, gather(a->xn1, R, n, D, s->c_xn1), dq_n, dxn_n, D, Q, R, n);
        if (R && need_dx) scatter(s->dxn, dxn_n, R, n, D);
        LORA_B(CL_LORA_K, a->xn1, s->dk, dxn, D, KV, NULL, T);
        LORA_B(CL_LORA_V, a->xn1, s->dv, dxn, D, KV, NULL, T);
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
