/* train_eval.c — NLL / utility / agreement of a compressor (see train_eval.h). */
#include "train_eval.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"
#include "train_gen.h"
#include "util.h"

/* CEs of e's segments [n_ce, dim] (malloc'd) by compressor c, or the naive mean of each C
 * token embeddings when c is NULL; returns n_ce or -1. */
static int example_ces(const cl_model *m, const cl_compressor *c, int C, const tr_example *e,
                       float **out) {
    int n = 0;
    const int32_t **segs = cl_malloc((size_t)e->n_seg * sizeof *segs);
    for (int s = 0, c0 = 0; s < e->n_seg; c0 += e->seg_len[s++]) {
        segs[s] = e->ctx + c0;
        n += cl_compress_n_out(e->seg_len[s], C);
    }
    *out = cl_malloc((size_t)(n > 0 ? n : 1) * m->cfg.dim * sizeof(float));
    int rc = c ? cl_compress(m, c, e->n_seg, segs, e->seg_len, *out)
               : cl_compress_naive(m, C, e->n_seg, segs, e->seg_len, *out);
    free(segs);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

/* Summed NLL of e's answer after [BOS?] + prefix (embeddings or ids) + question. */
static int answer_nll(const cl_model *m, const tr_objective *o, const tr_example *e,
                      const float *pre, const int32_t *pre_ids, int n_pre, double *nll, int *count,
                      int *top1) {
    int D = m->cfg.dim, V = m->cfg.n_vocab, bos = o->bos ? 1 : 0;
    int T = bos + n_pre + e->n_q + e->n_a, a0 = bos + n_pre + e->n_q;
    int first = a0 - 1 < 0 ? 1 : 0;   /* nothing predicts a[0] without any prefix */
    int np = e->n_a - first;
    *nll = 0;
    *count = *top1 = 0;
    if (np <= 0) return 0;
    float *x = cl_malloc((size_t)T * D * sizeof(float));
    int k = 0;
    if (bos) memcpy(x, m->tok_embd + (long)m->cfg.bos_id * D, D * sizeof(float)), k = 1;
    for (int i = 0; i < n_pre; i++, k++)
        memcpy(x + (long)k * D, pre ? pre + (long)i * D : m->tok_embd + (long)pre_ids[i] * D, D * sizeof(float));
    for (int i = 0; i < e->n_q; i++, k++) memcpy(x + (long)k * D, m->tok_embd + (long)e->q[i] * D, D * sizeof(float));
    for (int i = 0; i < e->n_a; i++, k++) memcpy(x + (long)k * D, m->tok_embd + (long)e->a[i] * D, D * sizeof(float));
    int *pos = cl_malloc((size_t)np * sizeof(int));
    for (int i = 0; i < np; i++) pos[i] = a0 - 1 + first + i;
    float *fin = cl_malloc((size_t)np * D * sizeof(float));
    cl_batch b = {.n_tokens = T, .embd = x, .n_out = np, .out_pos = pos, .out_final = fin};
    int rc = cl_forward(m, NULL, &b);
    free(x);
    free(pos);
    if (rc) { free(fin); return -1; }
    float *lg = cl_malloc((size_t)np * V * sizeof(float));
    cl_linear(lg, fin, m->output, np, D, V, 0);
    free(fin);
    double s = 0;
    for (int i = 0; i < np; i++) {
        const float *l = lg + (long)i * V;
        int am = cl_argmax(l, V);
        float mx = l[am];
        *top1 += am == e->a[first + i];
        double z = 0;
        for (int j = 0; j < V; j++) z += exp(l[j] - mx);
        s += mx + log(z) - l[e->a[first + i]];
    }
    free(lg);
    *nll = s;
    *count = np;
    return 0;
}

/* Answer positions where the greedy continuation of [BOS?] + prefix + question equals e->a. */
static int greedy_agree(const cl_model *m, const tr_objective *o, const tr_example *e, const float *pre,
                        int n_pre, double *agree) {
    int D = m->cfg.dim, bos = o->bos ? 1 : 0, np = bos + n_pre + e->n_q;
    *agree = 0;
    if (np < 1) return 0;
    float *x = cl_malloc((size_t)np * D * sizeof(float));
    if (bos) memcpy(x, m->tok_embd + (long)m->cfg.bos_id * D, D * sizeof(float));
    if (n_pre) memcpy(x + (long)bos * D, pre, (size_t)n_pre * D * sizeof(float));
    for (int j = 0; j < e->n_q; j++)
        memcpy(x + (long)(bos + n_pre + j) * D, m->tok_embd + (long)e->q[j] * D, D * sizeof(float));
    int32_t *g = cl_malloc((size_t)e->n_a * sizeof(int32_t));
    int ng = tr_generate(m, NULL, x, np, e->n_a, NULL, 0, g);
    for (int j = 0; j < ng; j++) *agree += g[j] == e->a[j];
    free(g);
    free(x);
    return ng < 0 ? -1 : 0;
}

int tr_evaluate(const cl_model *m, const tr_objective *o, const cl_compressor *p, tr_example *ex, int n,
                tr_eval_result *r) {
    memset(r, 0, sizeof *r);
    if (p && p->rate != o->C) return cl_fail("evaluate: compressor rate %d, objective %d", p->rate, o->C);
    double s[4] = {0}, agree = 0, agree_none = 0;
    long cnt[4] = {0}, top[4] = {0}, agree_n = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        tr_example *e = &ex[i];
        double v;
        int c, t1;
        float *ces = NULL, *nv = NULL;
        if (answer_nll(m, o, e, NULL, e->tctx ? e->tctx : e->ctx, e->tctx ? e->n_tctx : e->n_ctx, &v, &c, &t1)) { rc = -1; break; }
        s[0] += v; cnt[0] += c; top[0] += t1;
        if (answer_nll(m, o, e, NULL, NULL, 0, &v, &c, &t1)) { rc = -1; break; }
        s[2] += v; cnt[2] += c; top[2] += t1;
        int nn = example_ces(m, NULL, o->C, e, &nv);
        if (nn < 0 || answer_nll(m, o, e, nv, NULL, nn, &v, &c, &t1)) rc = -1;
        s[3] += v; cnt[3] += c; top[3] += t1;
        free(nv);
        if (rc || !p) continue;
        int nc = example_ces(m, p, o->C, e, &ces);
        if (nc < 0 || answer_nll(m, o, e, ces, NULL, nc, &v, &c, &t1)) { free(ces); rc = -1; break; }
        s[1] += v; cnt[1] += c; top[1] += t1;
        double ag[2];
        if (greedy_agree(m, o, e, ces, nc, &ag[0]) || greedy_agree(m, o, e, NULL, 0, &ag[1])) rc = -1;
        agree += ag[0];
        agree_none += ag[1];
        agree_n += e->n_a;
        free(ces);
    }
    if (rc) return -1;
    double *dst[4] = {&r->nll_full, &r->nll_ce, &r->nll_none, &r->nll_naive};
    for (int k = 0; k < 4; k++) {
        *dst[k] = cnt[k] ? s[k] / cnt[k] : NAN;
        r->top1[k] = cnt[k] ? (double)top[k] / cnt[k] : NAN;
    }
    r->utility = (r->nll_none - r->nll_ce) / (r->nll_none - r->nll_full);
    r->agreement = agree_n ? agree / agree_n : NAN;
    r->agreement_none = agree_n ? agree_none / agree_n : NAN;
    r->tokens = cnt[0];
    r->examples = n;
    return 0;
}
