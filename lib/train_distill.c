/* train_distill.c — the distillation loss and its gradient (see train_distill.h). */
#include "train_distill.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"
#include "train_ops.h"
#include "util.h"

void tr_grads_alloc(tr_grads *g, const cl_compressor *c) {
    g->n = cl_compressor_layout(c, NULL, NULL, NULL, NULL);
    g->data = cl_calloc(g->n, sizeof(float));
    cl_compressor_layout(c, g->data, &g->lora, &g->W, &g->b);
}

void tr_grads_free(tr_grads *g) {
    free(g->data);
    memset(g, 0, sizeof *g);
}

void tr_workspace_init(tr_workspace *w) {
    memset(w, 0, sizeof *w);
    cl_tape_init(&w->comp);
    cl_tape_init(&w->stud);
}

void tr_workspace_free(tr_workspace *w) {
    cl_tape_free(&w->comp);
    cl_tape_free(&w->stud);
    tr_grad_scratch_free(&w->grad);
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static float *scratch(tr_workspace *w, size_t n) {
    if (n > w->buf_floats) {
        free(w->buf);
        w->buf = cl_malloc(n * sizeof(float));
        w->buf_floats = n;
    }
    return w->buf;
}

void tr_embed(const cl_model *m, const int32_t *ids, int n, float *out) {
    int D = m->cfg.dim;
    for (int i = 0; i < n; i++) cl_mat_row(&m->tok_embd, ids[i], out + (long)i * D);
    if (m->cfg.embd_scale > 0)
        for (long i = 0; i < (long)n * D; i++) out[i] *= m->cfg.embd_scale;
}

static int check_ids(const cl_model *m, const int32_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.n_vocab) return cl_fail("train: token id %d out of range", ids[i]);
    return 0;
}

static int n_ces(const tr_example *e, int C) {
    int n = 0;
    for (int s = 0; s < e->n_seg; s++) n += (e->seg_len[s] + C - 1) / C;
    return n;
}

/* Compressor forward: fills the comp tape and z [n_ce, dim] (malloc'd) with the final-norm
 * states at the placeholders, whose batch rows go to *ph (malloc'd). */
static int comp_forward(tr_workspace *w, const cl_model *m, const tr_objective *o, const cl_compressor *p,
                        const tr_example *e, float **z, int **ph, int *n_ph) {
    int eos = m->cfg.eos_id;
    if (eos < 0) return cl_fail("train: the model has no EOS token for the placeholders");
    if (e->n_seg < 1) return cl_fail("train: example without context");
    int nce = n_ces(e, o->C), T = e->n_ctx + nce;
    int *sl = cl_malloc((size_t)e->n_seg * sizeof(int)), *from = cl_malloc((size_t)e->n_seg * sizeof(int));
    int *pp = cl_malloc((size_t)nce * sizeof(int));
    int32_t *ids = cl_malloc((size_t)T * sizeof(int32_t));
    int t = 0, k = 0, c0 = 0;
    for (int s = 0; s < e->n_seg; s++) {
        int n = e->seg_len[s], np = (n + o->C - 1) / o->C;
        memcpy(ids + t, e->ctx + c0, (size_t)n * sizeof(int32_t));
        t += n; c0 += n;
        for (int j = 0; j < np; j++, t++, k++) {
            ids[t] = eos;
            pp[k] = t;
        }
        sl[s] = n + np;
        from[s] = n;   /* only the placeholders' last-layer states are used */
    }
    float *zz = cl_malloc((size_t)nce * m->cfg.dim * sizeof(float));
    cl_batch b = {.n_tokens = T, .ids = ids, .n_seq = e->n_seg, .seq_len = sl, .lora = p->lora,
                  .n_out = nce, .out_pos = pp, .out_final = zz, .tape = &w->comp, .top_from = from};
    int rc = cl_forward(m, NULL, &b);
    free(ids);
    free(sl);
    free(from);
    if (rc) { free(pp); free(zz); return -1; }
    *z = zz;
    *ph = pp;
    *n_ph = nce;
    return 0;
}

/* The compressor's linear layer: ces[n, D] = z W^T + b. */
static void project(const cl_compressor *p, const float *z, int n, int D, float *ces) {
    cl_linear(ces, z, p->proj_w, n, D, D, 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) ces[(long)i * D + j] += p->proj_b[j];
}

/* Student sequence: [BOS?] CEs + q + a as embeddings.  Returns length, *ans0 = index of the
 * first answer token. */
static int build_seq(const cl_model *m, const tr_objective *o, const tr_example *e, const float *pre,
                     int n_pre, float *x, int *ans0) {
    int D = m->cfg.dim, t = 0;
    if (o->bos) {
        tr_embed(m, &m->cfg.bos_id, 1, x);
        t = 1;
    }
    memcpy(x + (long)t * D, pre, (size_t)n_pre * D * sizeof(float));
    t += n_pre;
    tr_embed(m, e->q, e->n_q, x + (long)t * D);
    t += e->n_q;
    *ans0 = t;
    tr_embed(m, e->a, e->n_a, x + (long)t * D);
    return t + e->n_a;
}

static int seq_len_of(const tr_objective *o, const tr_example *e, int n_pre) {
    return (o->bos ? 1 : 0) + n_pre + e->n_q + e->n_a;
}

int tr_teacher(const cl_model *m, const tr_objective *o, tr_example *e) {
    const cl_config *c = &m->cfg;
    int D = c->dim, L = c->n_layers, N = e->n_a + 1;
    if (o->bos && c->bos_id < 0) return cl_fail("train: the model has no BOS token");
    const int32_t *ctx = e->tctx ? e->tctx : e->ctx;
    int n_ctx = e->tctx ? e->n_tctx : e->n_ctx;
    if (e->n_a < 1) return cl_fail("train: example without answer tokens");
    int T = seq_len_of(o, e, n_ctx), bos = o->bos ? 1 : 0, a0 = bos + n_ctx + e->n_q;
    if (T - (o->bos ? 0 : 1) < N) return cl_fail("train: example too short");
    int32_t *ids = cl_malloc((size_t)T * sizeof(int32_t));
    int *pos = cl_malloc((size_t)N * sizeof(int));
    if (bos) ids[0] = c->bos_id;
    memcpy(ids + bos, ctx, (size_t)n_ctx * sizeof(int32_t));
    memcpy(ids + bos + n_ctx, e->q, (size_t)e->n_q * sizeof(int32_t));
    memcpy(ids + a0, e->a, (size_t)e->n_a * sizeof(int32_t));
    for (int i = 0; i < N; i++) pos[i] = a0 - 1 + i;
    float *layers = cl_malloc((size_t)(L + 1) * N * D * sizeof(float));
    cl_batch b = {.n_tokens = T, .ids = ids, .n_out = N, .out_pos = pos, .out_layers = layers};
    int rc = cl_forward(m, NULL, &b);
    free(ids);
    free(pos);
    if (rc) { free(layers); return -1; }
    /* keep the states after each layer, not the input embeddings */
    memmove(layers, layers + (size_t)N * D, (size_t)L * N * D * sizeof(float));
    free(e->teacher);
    free(e->sigma);
    e->teacher = layers;
    e->sigma = cl_malloc((size_t)L * sizeof(float));
    for (int l = 0; l < L; l++) {
        const float *src = e->teacher + (long)l * N * D;
        double s = 0;
        for (long i = 0; i < (long)N * D; i++) s += fabsf(src[i]);
        e->sigma[l] = (float)(s / ((double)N * D));
        if (!(e->sigma[l] > 0)) e->sigma[l] = 1.0f;
    }
    return 0;
}

int tr_parse_layers(const char *s, int n_layers, tr_objective *o) {
    uint8_t seen[CL_MAX_LAYERS] = {0};
    if (n_layers < 1 || n_layers > CL_MAX_LAYERS) return cl_fail("layers: model with %d layers", n_layers);
    if (strcmp(s, "none") != 0) {
        const char *p = s;
        for (;;) {
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno || (*end && *end != ',') || !isdigit((unsigned char)*p))
                return cl_fail("layers '%s': expected 1-based layer numbers separated by commas, or none", s);
            if (v < 1 || v > n_layers) return cl_fail("layers '%s': layer %ld is not in 1..%d", s, v, n_layers);
            if (seen[v - 1]) return cl_fail("layers '%s': layer %ld given twice", s, v);
            seen[v - 1] = 1;
            if (!*end) break;
            p = end + 1;
        }
    }
    for (int l = 0; l < CL_MAX_LAYERS; l++) o->skip_layer[l] = !seen[l];
    return 0;
}

/* e_v = exp(x_v - max x) in double for a row x of V logits; returns max x + log(sum_v e_v), the
 * log of the softmax's normaliser, and *z = sum_v e_v. */
static double row_exp(const float *x, int V, double *e, double *z) {
    float mx = x[0];
    for (int v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    double sum = 0;
    for (int v = 0; v < V; v++) sum += e[v] = exp((double)x[v] - mx);
    *z = sum;
    return mx + log(sum);
}

/* Logits [n, V] of residual-stream rows x [n, D] (after the last layer): the forward's final
 * norm and LM head.  h is scratch [n, D] (left holding the final-norm output). */
static void head_logits(const cl_model *m, const float *x, int n, float *h, float *logits) {
    cl_rmsnorm(h, x, m->out_norm, n, m->cfg.dim, m->cfg.rms_eps);
    cl_mat_linear(logits, h, &m->output, n, 0);
}

/* The logit terms: kl/N sum_p KL(teacher_p || student_p) over N rows of the last layer's states
 * xs (student), xt (teacher), plus ce/n_a sum_{i < n_a} -log student_i(a_i), log-probabilities
 * and probabilities in double.  If dfin != NULL it gets d(terms)/d(student final-norm output)
 * [N, D] (overwritten).  scratch: logit_scratch_floats(N, D, V) floats. */
static size_t logit_scratch_floats(int N, int D, int V) { return 2 * (size_t)N * (D + V) + 4 * (size_t)V + 1; }

static double logit_terms(const cl_model *m, const tr_objective *o, const float *xs, const float *xt, int N,
                          const int32_t *a, int n_a, float *scratch, float *dfin) {
    int D = m->cfg.dim, V = m->cfg.n_vocab;
    float *hs = scratch, *ht = hs + (size_t)N * D, *ls = ht + (size_t)N * D, *lt = ls + (size_t)N * V;
    double *es = (double *)(((uintptr_t)(lt + (size_t)N * V) + 7) & ~(uintptr_t)7), *et = es + V;
    int with_kl = o->kl > 0;
    head_logits(m, xs, N, hs, ls);
    if (with_kl) head_logits(m, xt, N, ht, lt);
    float wk = o->kl / N;   /* float, as before the ce term: --kl runs stay bit for bit */
    double kl = 0, nll = 0, wc = n_a > 0 ? (double)o->ce / n_a : 0;
    for (int p = 0; p < N; p++) {
        float *s = ls + (size_t)p * V;
        const float *t = lt + (size_t)p * V;
        double zs, zt = 1, lzs = row_exp(s, V, es, &zs), off = with_kl ? row_exp(t, V, et, &zt) - lzs : 0;
        double izs = 1 / zs, izt = 1 / zt, wp = p < n_a ? wc : 0;   /* the last row predicts past the answer */
        if (wp > 0) nll += lzs - s[a[p]];
        for (int v = 0; v < V; v++) {
            double ps = es[v] * izs, pt = with_kl ? et[v] * izt : 0;
            float g = wp > 0 ? (float)(wp * ps) : 0;
            if (with_kl) {
                kl += pt * ((double)t[v] - s[v] - off);    /* pt (log pt - log ps) */
                g += wk * (float)(ps - pt);
            }
            s[v] = g;                                      /* d terms / d student logit */
        }
        if (wp > 0) s[a[p]] -= (float)wp;
    }
    if (dfin) {
        memset(dfin, 0, (size_t)N * D * sizeof(float));
        tr_mat_bwd_x(ls, &m->output, N, dfin);
    }
    return wk * kl + wc * nll;
}

int tr_example_loss(tr_workspace *w, const cl_model *m, const tr_objective *o, const cl_compressor *p,
                    const tr_example *e, tr_grads *grad, float weight, double *loss) {
    const cl_config *c = &m->cfg;
    int D = c->dim, L = c->n_layers, N = e->n_a + 1, a0;
    if (!e->teacher) return cl_fail("train: example has no teacher states");
    if (p->rate != o->C) return cl_fail("train: compressor rate %d, objective %d", p->rate, o->C);
    if (check_ids(m, e->q, e->n_q) || check_ids(m, e->a, e->n_a)) return -1;
    int *ph = NULL, nce = 0;
    float *z = NULL;
    if (comp_forward(w, m, o, p, e, &z, &ph, &nce)) return -1;
    int Ts = seq_len_of(o, e, nce), n_in = 0;
    for (int l = 0; l < L; l++) n_in += !o->skip_layer[l];
    int logits = o->kl > 0 || o->ce > 0;
    if (n_in == 0 && !logits) { free(ph); free(z); return cl_fail("train: no distilled layer and no logit term"); }
    /* scratch: ces, dz [nce, D]; student x, d_embd [Ts, D]; d_layer [L, Ts, D]; d_final [Tc, D];
     * with a logit term: d_final of the student [Ts, D] and the logit scratch */
    int Tc = w->comp.T, V = c->n_vocab;
    size_t nkl = logits ? (size_t)Ts * D + logit_scratch_floats(N, D, V) : 0;
    size_t need = (size_t)nce * D * 2 + (size_t)Ts * D * 2 + (size_t)L * Ts * D + (size_t)Tc * D + nkl;
    float *ces = scratch(w, need), *dz = ces + (size_t)nce * D;
    float *xs = dz + (size_t)nce * D, *dembd = xs + (size_t)Ts * D, *dl = dembd + (size_t)Ts * D;
    float *dfin = dl + (size_t)L * Ts * D, *dsfin = dfin + (size_t)Tc * D, *kls = dsfin + (size_t)Ts * D;
    project(p, z, nce, D, ces);
    build_seq(m, o, e, ces, nce, xs, &a0);
    int from = a0 - 1;   /* the losses read the last layer at the answer positions only */
    cl_batch b = {.n_tokens = Ts, .embd = xs, .tape = &w->stud, .top_from = &from};
    if (cl_forward(m, NULL, &b)) { free(ph); free(z); return -1; }
    double total = 0;
    float *dlayer[CL_MAX_LAYERS + 1] = {0};
    if (grad) memset(dl, 0, (size_t)L * Ts * D * sizeof(float));
    for (int l = 0; l < L; l++) {
        if (o->skip_layer[l]) continue;
        float wgt = 1.0f / ((float)n_in * N * D);
        float *d = grad ? dl + (size_t)l * Ts * D : NULL;
        total += tr_smooth_l1(w->stud.x[l + 1] + (long)(a0 - 1) * D, e->teacher + (long)l * N * D,
                              (long)N * D, 1.0f / e->sigma[l], o->beta, wgt,
                              d ? d + (long)(a0 - 1) * D : NULL);
        dlayer[l + 1] = d;
    }
    if (logits) {
        if (grad) memset(dsfin, 0, (size_t)Ts * D * sizeof(float));
        total += logit_terms(m, o, w->stud.x[L] + (long)(a0 - 1) * D, e->teacher + (long)(L - 1) * N * D, N, e->a,
                             e->n_a, kls, grad ? dsfin + (long)(a0 - 1) * D : NULL);
    }
    *loss = total;
    if (grad) {
        if (weight != 1.0f) {
            for (size_t i = 0; i < (size_t)L * Ts * D; i++) dl[i] *= weight;
            if (logits)
                for (size_t i = 0; i < (size_t)Ts * D; i++) dsfin[i] *= weight;
        }
        if (tr_backward(&w->stud, &w->grad, logits ? dsfin : NULL, dlayer, dembd, NULL)) {
            free(ph);
            free(z);
            return -1;
        }
        const float *dce = dembd + (o->bos ? D : 0);
        tr_linear_bwd_w(dce, z, nce, D, D, grad->W, grad->b);
        memset(dz, 0, (size_t)nce * D * sizeof(float));
        tr_linear_bwd_x(dce, p->proj_w, nce, D, D, dz);
        /* through the final norm at the placeholders: d_final is dz at their rows */
        memset(dfin, 0, (size_t)Tc * D * sizeof(float));
        for (int i = 0; i < nce; i++) memcpy(dfin + (long)ph[i] * D, dz + (long)i * D, D * sizeof(float));
        if (tr_backward(&w->comp, &w->grad, dfin, NULL, NULL, &grad->lora)) {
            free(ph);
            free(z);
            return -1;
        }
    }
    free(ph);
    free(z);
    return 0;
}
