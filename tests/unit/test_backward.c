/* test_backward.c — every backward kernel of the trainer (against the engine's forward op it
 * differentiates), the whole decoder backward over cl_forward's tape for every architecture the
 * engine's backward covers (llama both RoPE layouts, llama 3 and yarn RoPE scaling, qwen2 biases,
 * qwen3 q/k norm with head_dim * heads != dim, mistral / qwen2 sliding windows, gemma3: local and
 * global layers with their own RoPE tables, window < sequence, GeGLU, post norms, attention scale)
 * and the whole distillation loss, checked against central finite differences.
 * Check: |analytic - numeric| <= 2e-2 |numeric| + 1e-3 max|gradient| on sampled entries
 * (f32 forward, loss summed in double, step h = 3e-3 (1 + |x|): the truncation error shrinks as h^2 at this step). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "train_distill.h"
#include "ops.h"
#include "tape.h"
#include "train_backward.h"
#include "train_ops.h"
#include "train_rand.h"
#include "util.h"

#ifndef FD_H
#define FD_H 3e-3f
#endif
typedef double (*loss_fn)(void *ctx);

/* Compare grad[] (analytic, for the n floats at x) with central differences of f at up to
 * `samples` random entries.  Returns the worst violation ratio (<= 1 passes). */
static double fd_check(loss_fn f, void *ctx, float *x, const float *grad, long n, int samples,
                       cl_rng *r) {
    double gmax = 0, worst = 0;
    for (long i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
    for (int s = 0; s < samples; s++) {
        long i = samples >= n ? s : (long)(cl_rng_uniform(r) * n);
        if (i >= n) break;
        float x0 = x[i], h = FD_H * (1.0f + fabsf(x0));
        x[i] = x0 + h;
        double fp = f(ctx);
        x[i] = x0 - h;
        double fm = f(ctx);
        x[i] = x0;
        double num = (fp - fm) / (2.0 * h);
        double tol = 2e-2 * fabs(num) + 1e-3 * gmax + 1e-7;
        double v = fabs(grad[i] - num) / tol;
        if (v > worst) worst = v;
    }
    return worst;
}

static double dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- single ops: loss = <R, op(inputs)> ---- */
enum { T_ = 7, D_ = 12 };
typedef struct {
    float x[T_ * D_], w[D_], y[T_ * D_], R[T_ * D_];
} rms_ctx;
static double rms_loss(void *p) {
    rms_ctx *c = p;
    cl_rmsnorm(c->y, c->x, c->w, T_, D_, 1e-5f);
    return dot(c->y, c->R, T_ * D_);
}

typedef struct {
    int n_seq, seq_len[2], H, KV, hd, T, win;
    float scale;
    float *q, *k, *v, *out, *R;
} attn_ctx;
static double attn_loss(void *p) {
    attn_ctx *c = p;
    int qs = c->H * c->hd, ks = c->KV * c->hd;
    for (int s = 0, t0 = 0; s < c->n_seq; t0 += c->seq_len[s++])
        cl_attention_win(c->out + (long)t0 * qs, qs, c->q + (long)t0 * qs, qs, c->seq_len[s],
                         c->k + (long)t0 * ks, c->v + (long)t0 * ks, ks, c->seq_len[s], c->H, c->KV,
                         c->hd, 0, c->win, c->scale);
    return dot(c->out, c->R, (long)c->T * c->H * c->hd);
}

typedef struct { float g[40], u[40], h[40], R[40]; int gelu; } swi_ctx;
static double swi_loss(void *p) {
    swi_ctx *c = p;
    if (c->gelu) cl_geglu(c->h, c->g, c->u, 40);
    else cl_swiglu(c->h, c->g, c->u, 40);
    return dot(c->h, c->R, 40);
}

typedef struct { float x[5 * 9], A[3 * 9], B[6 * 3], u[5 * 3], y[5 * 6], R[5 * 6]; } lora_ctx;
static double lora_loss(void *p) {
    lora_ctx *c = p;
    memset(c->y, 0, sizeof c->y);
    cl_lora_add(c->y, c->x, c->A, c->B, 5, 9, 6, 3, 0.5f, c->u);
    return dot(c->y, c->R, 5 * 6);
}

typedef struct { float x[4 * 16], y[4 * 16], R[4 * 16]; int pos[4], inter; } rope_ctx;
static double rope_loss(void *p) {
    rope_ctx *c = p;
    memcpy(c->y, c->x, sizeof c->y);
    cl_rope(c->y, 4, 2, 8, c->pos, 10000.0f, c->inter);
    return dot(c->y, c->R, 4 * 16);
}

typedef struct { float a[50], b[50]; } sl1_ctx;
static double sl1_loss(void *p) {
    sl1_ctx *c = p;
    return tr_smooth_l1(c->a, c->b, 50, 0.7f, 1.0f, 0.3f, NULL);
}

static void test_ops(cl_rng *r) {
    float g[512];
    {
        rms_ctx c;
        cl_rng_fill_normal(r, c.x, T_ * D_, 1.5f);
        cl_rng_fill_normal(r, c.w, D_, 1.0f);
        cl_rng_fill_normal(r, c.R, T_ * D_, 1.0f);
        rms_loss(&c);
        memset(g, 0, sizeof g);
        tr_rmsnorm_bwd(c.x, c.w, c.R, T_, D_, 1e-5f, g);
        double v = fd_check(rms_loss, &c, c.x, g, T_ * D_, T_ * D_, r);
        OK(v <= 1, "rmsnorm backward matches finite differences (worst %.3f of tolerance)", v);
    }
    for (int gelu = 0; gelu <= 1; gelu++) {
        swi_ctx c;
        c.gelu = gelu;
        cl_rng_fill_normal(r, c.g, 40, 2.0f);
        cl_rng_fill_normal(r, c.u, 40, 1.0f);
        cl_rng_fill_normal(r, c.R, 40, 1.0f);
        float dg[40] = {0}, du[40] = {0};
        if (gelu) tr_geglu_bwd(c.g, c.u, c.R, 40, dg, du);
        else tr_swiglu_bwd(c.g, c.u, c.R, 40, dg, du);
        double v1 = fd_check(swi_loss, &c, c.g, dg, 40, 40, r);
        double v2 = fd_check(swi_loss, &c, c.u, du, 40, 40, r);
        OK(v1 <= 1 && v2 <= 1, "%s backward (gate %.3f, up %.3f)", gelu ? "geglu (gelu_tanh)" : "swiglu", v1, v2);
    }
    {
        lora_ctx c;
        cl_rng_fill_normal(r, c.x, 45, 1.0f);
        cl_rng_fill_normal(r, c.A, 27, 1.0f);
        cl_rng_fill_normal(r, c.B, 18, 1.0f);
        cl_rng_fill_normal(r, c.R, 30, 1.0f);
        lora_loss(&c);
        float dx[45] = {0}, dA[27] = {0}, dB[18] = {0}, du[15];
        tr_lora_bwd(c.x, c.u, c.A, c.B, 3, 0.5f, 5, 9, 6, c.R, dx, dA, dB, du);
        double v1 = fd_check(lora_loss, &c, c.x, dx, 45, 45, r);
        double v2 = fd_check(lora_loss, &c, c.A, dA, 27, 27, r);
        double v3 = fd_check(lora_loss, &c, c.B, dB, 18, 18, r);
        OK(v1 <= 1 && v2 <= 1 && v3 <= 1, "lora backward (x %.3f, A %.3f, B %.3f)", v1, v2, v3);
    }
    for (int inter = 0; inter <= 1; inter++) {
        rope_ctx c;
        c.inter = inter;
        for (int i = 0; i < 4; i++) c.pos[i] = 3 * i + 1;
        cl_rng_fill_normal(r, c.x, 64, 1.0f);
        cl_rng_fill_normal(r, c.R, 64, 1.0f);
        float d[64], cos_t[16], sin_t[16], neg[16];
        memcpy(d, c.R, sizeof d);
        cl_rope_table(cos_t, sin_t, c.pos, 4, 8, 10000.0f);
        tr_rope_bwd(d, 4, 2, 8, cos_t, sin_t, inter, neg);
        double v = fd_check(rope_loss, &c, c.x, d, 64, 64, r);
        OK(v <= 1, "rope (%s) backward = inverse rotation (%.3f)", inter ? "interleaved" : "halves", v);
    }
    {
        sl1_ctx c;
        cl_rng_fill_normal(r, c.a, 50, 2.0f);
        cl_rng_fill_normal(r, c.b, 50, 2.0f);
        float da[50] = {0};
        tr_smooth_l1(c.a, c.b, 50, 0.7f, 1.0f, 0.3f, da);
        double v = fd_check(sl1_loss, &c, c.a, da, 50, 50, r);
        OK(v <= 1, "smooth-l1 gradient (%.3f)", v);
    }
    for (int win = 0; win <= 2; win += 2) {   /* full, then a window of 2 with a non-default scale */
        attn_ctx c = {.n_seq = 2, .seq_len = {5, 3}, .H = 4, .KV = 2, .hd = 3, .T = 8, .win = win,
                      .scale = win ? 0.37f : 1.0f / sqrtf(3.0f)};
        long nq = (long)c.T * c.H * c.hd, nk = (long)c.T * c.KV * c.hd;
        c.q = cl_malloc(nq * 4); c.k = cl_malloc(nk * 4); c.v = cl_malloc(nk * 4);
        c.out = cl_malloc(nq * 4); c.R = cl_malloc(nq * 4);
        cl_rng_fill_normal(r, c.q, nq, 1.0f);
        cl_rng_fill_normal(r, c.k, nk, 1.0f);
        cl_rng_fill_normal(r, c.v, nk, 1.0f);
        cl_rng_fill_normal(r, c.R, nq, 1.0f);
        attn_loss(&c);
        float *dq = cl_calloc(nq, 4), *dk = cl_calloc(nk, 4), *dv = cl_calloc(nk, 4), ds[50];
        tr_attn_bwd(c.q, c.k, c.v, c.R, 2, c.seq_len, NULL, c.H, c.KV, c.hd, c.win, c.scale, dq, dk, dv, ds);
        double v1 = fd_check(attn_loss, &c, c.q, dq, nq, (int)nq, r);
        double v2 = fd_check(attn_loss, &c, c.k, dk, nk, (int)nk, r);
        double v3 = fd_check(attn_loss, &c, c.v, dv, nk, (int)nk, r);
        OK(v1 <= 1 && v2 <= 1 && v3 <= 1, "causal GQA attention backward, 2 sequences, window %d (q %.3f, k %.3f, v %.3f)",
           win, v1, v2, v3);
        if (win) {   /* the window: row 4 of sequence 1 does not see key row 2 (4 - 2 >= window) */
            float *k2 = &c.k[2 * c.KV * c.hd], keep2 = *k2, before4 = c.out[4 * c.H * c.hd];
            *k2 += 10.0f;
            attn_loss(&c);
            OK(c.out[4 * c.H * c.hd] == before4, "a window-%d row ignores keys outside its window", win);
            *k2 = keep2;
            attn_loss(&c);
        }
        /* causality: output row 0 of sequence 2 depends only on its own k/v row */
        float keep = c.v[5 * c.KV * c.hd + c.KV * c.hd];  /* seq 2, row 1, head group 0 */
        float before = c.out[5 * c.H * c.hd];
        c.v[5 * c.KV * c.hd + c.KV * c.hd] += 10.0f;
        attn_loss(&c);
        OK(c.out[5 * c.H * c.hd] == before, "attention is causal and sequences are independent");
        c.v[5 * c.KV * c.hd + c.KV * c.hd] = keep;
        free(c.q); free(c.k); free(c.v); free(c.out); free(c.R); free(dq); free(dk); free(dv);
    }
}

/* ---- whole decoder: loss = sum_l <R_l, x_l> + <Rf, final> ---- */
enum { ARCH_LLAMA, ARCH_LLAMA_INTERLEAVED, ARCH_QWEN2, ARCH_QWEN3, ARCH_LLAMA3, ARCH_YARN,
       ARCH_MISTRAL_SW, ARCH_QWEN2_SW, ARCH_GEMMA3, N_ARCH };
static const char *const arch_name[N_ARCH] = {"llama, half rope", "llama, interleaved rope",
                                              "qwen2, qkv bias", "qwen3, q/k norm, head_dim 6",
                                              "llama 3 rope scaling", "yarn rope scaling, mscale 1.3",
                                              "mistral, sliding window 3 on every layer",
                                              "qwen2, sliding window 2 on layer 1 only",
                                              "gemma3, local+global layers, window 3, geglu, post norms, scales"};

static cl_config tiny_cfg(int arch) {
    cl_config c = {0};
    c.arch = arch == ARCH_QWEN2 || arch == ARCH_QWEN2_SW ? CL_ARCH_QWEN2 : arch == ARCH_QWEN3 ? CL_ARCH_QWEN3
           : arch == ARCH_GEMMA3 ? CL_ARCH_GEMMA3 : CL_ARCH_LLAMA;
    c.n_vocab = 40; c.dim = 16; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 4;
    c.ffn_dim = 24; c.max_ctx = 64; c.rope_theta = 10000.0f; c.rms_eps = 1e-5f;
    c.tied_embeddings = 1; c.bos_id = 1; c.eos_id = 2;
    c.attn_bias = arch == ARCH_QWEN2 || arch == ARCH_QWEN2_SW;
    c.rope_interleaved = arch == ARCH_LLAMA_INTERLEAVED;
    if (arch == ARCH_QWEN3) c.qk_norm = 1, c.head_dim = 6;   /* q_dim 24 != dim 16 */
    if (arch == ARCH_LLAMA3)
        c.rope_scaling = (cl_rope_scaling){.type = CL_ROPE_LLAMA3, .factor = 8, .orig_ctx = 8,
                                           .low_freq_factor = 1, .high_freq_factor = 4};
    if (arch == ARCH_YARN)   /* mscale != 1: the rotation is scaled, its transpose still exact */
        c.rope_scaling = (cl_rope_scaling){.type = CL_ROPE_YARN, .factor = 4, .orig_ctx = 16,
                                           .beta_fast = 32, .beta_slow = 1, .attn_factor = 1.3f};
    /* windows smaller than the test's 5-token sequence */
    if (arch == ARCH_MISTRAL_SW) c.sliding_window = 3, c.layer_window[0] = c.layer_window[1] = 1;
    if (arch == ARCH_QWEN2_SW) c.sliding_window = 2, c.layer_window[1] = 1;
    if (arch == ARCH_GEMMA3) {   /* layer 0 local (window 3, own RoPE base), layer 1 global */
        c.qk_norm = 1; c.head_dim = 6; c.sliding_window = 3; c.layer_window[0] = 1;
        c.rope_theta = 1e6f; c.rope_theta_local = 10000.0f;
        c.rope_scaling = (cl_rope_scaling){.type = CL_ROPE_LINEAR, .factor = 8};
        c.act = CL_ACT_GELU_TANH; c.post_norms = 1; c.embd_scale = 4.0f; c.attn_scale = 0.3f;
    }
    return c;
}

typedef struct {
    cl_model *m;
    cl_compressor *p;
    cl_tape t;
    int n_seq, seq_len[3], T, pos[10];
    float *embd, *R[3], *Rf, *fin;
} model_ctx;

static double model_loss(void *p) {
    model_ctx *c = p;
    cl_batch b = {.n_tokens = c->T, .embd = c->embd, .n_seq = c->n_seq, .seq_len = c->seq_len,
                  .lora = c->p->lora, .n_out = c->T, .out_pos = c->pos, .out_final = c->fin,
                  .tape = &c->t};
    if (cl_forward(c->m, NULL, &b)) return NAN;
    int D = c->m->cfg.dim;
    double s = dot(c->fin, c->Rf, (long)c->T * D);
    for (int l = 0; l <= c->m->cfg.n_layers; l++) s += dot(c->t.x[l], c->R[l], (long)c->T * D);
    return s;
}

/* tail: the gradients of the top layer's output and of the final norm are zero above a row of
 * each sequence (rows 3, 1 and 2 of lengths 5, 1, 4: the second has none), as a loss on the
 * sequences' last rows gives them: the backward's top layer then runs on the rows below only. */
static void test_model(cl_rng *r, int arch, int tail) {
    model_ctx c = {0};
    cl_config cfg = tiny_cfg(arch);
    c.m = tr_model_random(&cfg, 7 + arch, 0.3f);
    c.p = cl_compressor_new_init(c.m, 2, 20, 2, 4.0f, (1u << CL_LORA_NT) - 1, 1);
    cl_rng_fill_normal(r, c.p->params, (long)c.p->n_params, 0.3f);
    cl_tape_init(&c.t);
    c.n_seq = 3; c.seq_len[0] = 5; c.seq_len[1] = 1; c.seq_len[2] = 4; c.T = 10;
    for (int i = 0; i < c.T; i++) c.pos[i] = i;
    int D = cfg.dim;
    c.embd = cl_malloc((size_t)c.T * D * 4);
    cl_rng_fill_normal(r, c.embd, (long)c.T * D, 1.0f);
    c.Rf = cl_malloc((size_t)c.T * D * 4);
    c.fin = cl_malloc((size_t)c.T * D * 4);
    cl_rng_fill_normal(r, c.Rf, (long)c.T * D, 1.0f);
    for (int l = 0; l < 3; l++) {
        c.R[l] = cl_malloc((size_t)c.T * D * 4);
        cl_rng_fill_normal(r, c.R[l], (long)c.T * D, 1.0f);
    }
    if (tail) {
        const int zero_rows[][2] = {{0, 3}, {5, 6}, {6, 8}};   /* [from, to) of each sequence */
        for (int s = 0; s < 3; s++) {
            size_t off = (size_t)zero_rows[s][0] * D, n = (size_t)(zero_rows[s][1] - zero_rows[s][0]) * D;
            memset(c.Rf + off, 0, n * 4);
            memset(c.R[cfg.n_layers] + off, 0, n * 4);
        }
    }
    tr_grads g;
    tr_grads_alloc(&g, c.p);
    float *de = cl_malloc((size_t)c.T * D * 4);
    tr_grad_scratch gs = {0};
    double l0 = model_loss(&c);
    int rc = tr_backward(&c.t, &gs, c.Rf, c.R, de, &g.lora);
    OK(rc == 0 && isfinite(l0), "%s: forward with tape and backward run", arch_name[arch]);
    if (tail) {   /* the same gradients as a backward over all rows, up to float rounding */
        tr_grads ga;
        tr_grads_alloc(&ga, c.p);
        float *dea = cl_malloc((size_t)c.T * D * 4);
        tr_grad_scratch gsa = {.all_rows = 1};
        rc = tr_backward(&c.t, &gsa, c.Rf, c.R, dea, &ga.lora);
        double gm = 0, dm = 0, em = 0, ed = 0;
        for (size_t i = 0; i < ga.n; i++) gm = fmax(gm, fabs(ga.data[i])), dm = fmax(dm, fabs(ga.data[i] - g.data[i]));
        for (long i = 0; i < (long)c.T * D; i++) em = fmax(em, fabs(dea[i])), ed = fmax(ed, fabs(dea[i] - de[i]));
        OK(rc == 0 && dm <= 1e-5 * gm && ed <= 1e-5 * em,
           "%s: backward on the tails = backward on all rows (max difference %.2g of %.3g in LoRA, %.2g of %.3g in embeddings)",
           arch_name[arch], dm, gm, ed, em);
        tr_grad_scratch_free(&gsa);
        tr_grads_free(&ga);
        free(dea);
    }
    double ve = fd_check(model_loss, &c, c.embd, de, (long)c.T * D, 60, r);
    double vp = fd_check(model_loss, &c, c.p->params, g.data, (long)c.p->n_params - D * D - D, 120, r);
    OK(ve <= 1, "decoder backward wrt input embeddings (%s%s): %.3f", arch_name[arch], tail ? ", top gradient on tails" : "", ve);
    OK(vp <= 1, "decoder backward wrt LoRA A/B on all 7 projections (%s%s): %.3f", arch_name[arch],
       tail ? ", top gradient on tails" : "", vp);
    tr_grad_scratch_free(&gs);
    tr_grads_free(&g);
    cl_compressor_free(c.p);
    cl_tape_free(&c.t);
    tr_model_random_free(c.m);
    free(c.embd); free(c.Rf); free(c.fin); free(de);
    for (int l = 0; l < 3; l++) free(c.R[l]);
}

/* ---- the whole distillation loss wrt LoRA A, B, W, b ---- */
typedef struct {
    cl_model *m;
    cl_compressor *p;
    tr_workspace w;
    tr_objective o;
    tr_example e;
} dist_ctx;

static double dist_loss(void *p) {
    dist_ctx *c = p;
    double l = 0;
    tr_example_loss(&c->w, c->m, &c->o, c->p, &c->e, NULL, 1.0f, &l);
    return l;
}

/* The logit terms' values from an independent path: CEs from cl_compress (the engine's
 * compressor), teacher and student logits of every position from cl_forward (logits_all), in
 * double: the mean KL over the N prediction rows, and into *nll the student's mean NLL of the
 * answer tokens (each predicted by the row before it). */
static double logit_reference(dist_ctx *c, double *nll) {
    const cl_model *m = c->m;
    int D = m->cfg.dim, V = m->cfg.n_vocab, bos = c->o.bos ? 1 : 0, nce = 0;
    const int32_t *seg[8];
    for (int s = 0, c0 = 0; s < c->e.n_seg; c0 += c->e.seg_len[s], s++) {
        seg[s] = c->e.ctx + c0;
        nce += (c->e.seg_len[s] + 1) / 2;
    }
    int Tt = bos + c->e.n_ctx + c->e.n_q + c->e.n_a, Ts = bos + nce + c->e.n_q + c->e.n_a, N = c->e.n_a + 1;
    int32_t *ids = cl_malloc((size_t)Tt * 4);
    float *xs = cl_malloc((size_t)Ts * D * 4), *lt = cl_malloc((size_t)Tt * V * 4), *ls = cl_malloc((size_t)Ts * V * 4);
    if (bos) ids[0] = m->cfg.bos_id;
    memcpy(ids + bos, c->e.ctx, (size_t)c->e.n_ctx * 4);
    memcpy(ids + bos + c->e.n_ctx, c->e.q, (size_t)c->e.n_q * 4);
    memcpy(ids + bos + c->e.n_ctx + c->e.n_q, c->e.a, (size_t)c->e.n_a * 4);
    if (bos) tr_embed(m, ids, 1, xs);
    int rc = cl_compress(m, c->p, c->e.n_seg, seg, c->e.seg_len, xs + (size_t)bos * D);
    tr_embed(m, c->e.q, c->e.n_q, xs + (size_t)(bos + nce) * D);
    tr_embed(m, c->e.a, c->e.n_a, xs + (size_t)(bos + nce + c->e.n_q) * D);
    cl_batch bt = {.n_tokens = Tt, .ids = ids, .logits = lt, .logits_all = 1};
    cl_batch bs = {.n_tokens = Ts, .embd = xs, .logits = ls, .logits_all = 1};
    rc |= cl_forward(m, NULL, &bt) | cl_forward(m, NULL, &bs);
    double kl = 0;
    for (int p = 0; p < N; p++) {
        const float *a = lt + (size_t)(Tt - N + p) * V, *b = ls + (size_t)(Ts - N + p) * V;
        double za = 0, zb = 0;
        for (int v = 0; v < V; v++) za += exp((double)a[v]), zb += exp((double)b[v]);
        for (int v = 0; v < V; v++) {
            double la = a[v] - log(za), lb = b[v] - log(zb);
            kl += exp(la) * (la - lb);
        }
    }
    *nll = 0;
    for (int p = 0; p < c->e.n_a; p++) {
        const float *b = ls + (size_t)(Ts - N + p) * V;
        double zb = 0;
        for (int v = 0; v < V; v++) zb += exp((double)b[v]);
        *nll += log(zb) - b[c->e.a[p]];
    }
    *nll /= c->e.n_a;
    free(ids); free(xs); free(lt); free(ls);
    return rc ? NAN : kl / N;
}

/* grow > 0: the adapter (rank 2) is grown to rank `grow` (cl_compressor_grow_rank: new B columns
 * zero, as training from cl-train --init F --rank R starts) before the gradients are checked. */
static void test_distill(cl_rng *r, int bos, int arch, const char *layers, float kl, float ce, int grow) {
    dist_ctx c = {0};
    cl_config cfg = tiny_cfg(arch);
    c.m = tr_model_random(&cfg, 11, 0.3f);
    int targets = (1 << CL_LORA_Q) | (1 << CL_LORA_V) | (1 << CL_LORA_O) | (1 << CL_LORA_DOWN);
    c.p = cl_compressor_new_init(c.m, 2, 20, 2, 2.0f, targets, 3);
    cl_rng_fill_normal(r, c.p->params, (long)c.p->n_params, 0.2f);   /* B != 0: every gradient is exercised */
    for (int i = 0; i < cfg.dim; i++) c.p->proj_w[i * cfg.dim + i] += 1.0f;
    if (grow) {
        cl_compressor *g = cl_compressor_grow_rank(c.p, grow, 8);
        OK(g && g->rank == grow, "rank 2 grown to %d", grow);
        cl_compressor_free(c.p);
        c.p = g;
    }
    tr_workspace_init(&c.w);
    c.o.C = 2; c.o.bos = bos; c.o.beta = 1.0f; c.o.kl = kl; c.o.ce = ce;
    if (layers) OK(tr_parse_layers(layers, cfg.n_layers, &c.o) == 0, "--layers %s parsed", layers);
    int segs[3] = {5, 2, 3};
    c.e.n_seg = 3;
    c.e.seg_len = cl_malloc(sizeof segs);
    memcpy(c.e.seg_len, segs, sizeof segs);
    c.e.n_ctx = 10; c.e.ctx = cl_malloc(10 * 4);
    for (int i = 0; i < 10; i++) c.e.ctx[i] = 3 + (int)(cl_rng_uniform(r) * 37);
    c.e.n_q = 2; c.e.q = cl_malloc(8); c.e.q[0] = 5; c.e.q[1] = 9;
    c.e.n_a = 4; c.e.a = cl_malloc(16);
    for (int i = 0; i < 4; i++) c.e.a[i] = 3 + 7 * i;
    int rc = tr_teacher(c.m, &c.o, &c.e);
    OK(rc == 0, "teacher pass");
    tr_grads g;
    tr_grads_alloc(&g, c.p);
    double loss = 0;
    rc = tr_example_loss(&c.w, c.m, &c.o, c.p, &c.e, &g, 1.0f, &loss);
    OK(rc == 0 && loss > 0, "distillation loss %.4f (bos %d, layers %s, kl %g, ce %g)", loss, bos, layers ? layers : "all",
       kl, ce);
    if (layers && !strcmp(layers, "none")) {   /* the loss is the logit terms alone */
        double nll, ref = kl * logit_reference(&c, &nll);
        ref += ce * nll;
        OK(fabs(loss - ref) <= 1e-4 * fabs(ref) + 1e-7,
           "logit terms (kl %g, ce %g) %.7f = independent KL and NLL from cl_compress + cl_forward logits %.7f", kl, ce,
           loss, ref);
    }
    long nl = (long)c.p->n_params - cfg.dim * cfg.dim - cfg.dim;
    double va = fd_check(dist_loss, &c, c.p->params, g.data, nl, 150, r);
    double vw = fd_check(dist_loss, &c, c.p->proj_w, g.W, (long)cfg.dim * cfg.dim, 80, r);
    double vb = fd_check(dist_loss, &c, c.p->proj_b, g.b, cfg.dim, cfg.dim, r);
    OK(va <= 1, "distillation loss gradient wrt LoRA A/B (%s, bos %d, layers %s, kl %g, ce %g, rank %d): %.3f",
       arch_name[arch], bos, layers ? layers : "all", kl, ce, c.p->rank, va);
    OK(vw <= 1 && vb <= 1, "distillation loss gradient wrt linear W (%.3f), b (%.3f) (%s)", vw, vb,
       arch_name[arch]);
    tr_grads_free(&g);
    cl_compressor_free(c.p);
    tr_workspace_free(&c.w);
    tr_example_free(&c.e);
    tr_model_random_free(c.m);
}

static void test_parse_layers(void) {
    tr_objective o;
    memset(&o, 0, sizeof o);
    int rc = tr_parse_layers("2", 3, &o);
    OK(rc == 0 && o.skip_layer[0] && !o.skip_layer[1] && o.skip_layer[2], "--layers 2 of 3");
    rc = tr_parse_layers("3,1", 3, &o);
    OK(rc == 0 && !o.skip_layer[0] && o.skip_layer[1] && !o.skip_layer[2], "--layers 3,1 of 3");
    rc = tr_parse_layers("none", 2, &o);
    OK(rc == 0 && o.skip_layer[0] && o.skip_layer[1], "--layers none");
    rc = tr_parse_layers("1,2", 2, &o);
    OK(rc == 0 && !o.skip_layer[0] && !o.skip_layer[1], "--layers 1,2 = all");
    const char *bad[] = {"0", "3", "1,1", "1,", ",1", "", "a", "+1", " 1", "1;2", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = tr_parse_layers(bad[i], 2, &o);
        OK(rc < 0 && strstr(cl_error(), "layers"), "--layers '%s' refused: %s", bad[i], cl_error());
    }
}

int main(void) {
    cl_rng r;
    cl_rng_seed(&r, 1234);
    test_ops(&r);
    for (int a = 0; a < N_ARCH; a++) test_model(&r, a, 0);
    /* its own stream: a fixed draw, not the one after the tests above (at that one a qwen2 LoRA
     * entry of curvature large enough for central differences at FD_H to be off by 3.5%, both
     * backwards agreeing with differences at h = 1e-3) */
    cl_rng rt;
    cl_rng_seed(&rt, 4321);
    for (int a = 0; a < N_ARCH; a++) test_model(&rt, a, 1);
    test_distill(&r, 1, ARCH_LLAMA, NULL, 0, 0, 0);
    test_distill(&r, 0, ARCH_LLAMA, NULL, 0, 0, 0);
    test_distill(&r, 1, ARCH_QWEN3, NULL, 0, 0, 0);
    test_distill(&r, 1, ARCH_GEMMA3, NULL, 0, 0, 0);
    test_distill(&r, 0, ARCH_MISTRAL_SW, NULL, 0, 0, 0);
    /* --layers / --kl: a subset of layers, the KL term alone (value checked), both together */
    test_distill(&r, 1, ARCH_LLAMA, "2", 0, 0, 0);
    test_distill(&r, 1, ARCH_LLAMA, "none", 1.0f, 0, 0);
    test_distill(&r, 0, ARCH_LLAMA, "none", 0.5f, 0, 0);
    test_distill(&r, 1, ARCH_QWEN3, "1", 0.7f, 0, 0);
    test_distill(&r, 1, ARCH_GEMMA3, NULL, 0.3f, 0, 0);
    /* a grown adapter (cl-train --init F --rank R): zero B columns next to trained ones */
    test_distill(&r, 1, ARCH_LLAMA, NULL, 0.5f, 0, 5);
    test_distill(&r, 1, ARCH_QWEN3, NULL, 0, 0, 4);
    /* --ce: the answer-token NLL alone and with KL (values checked), with the states */
    test_distill(&r, 1, ARCH_LLAMA, "none", 0, 1.0f, 0);
    test_distill(&r, 0, ARCH_QWEN3, "none", 0.5f, 0.8f, 0);
    test_distill(&r, 1, ARCH_GEMMA3, NULL, 0.3f, 0.5f, 0);
    test_parse_layers();
    return t_done();
}
