/* train_eval.c — NLL / utility / agreement of a compressor (see train_eval.h). */
#include "train_eval.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train_gen.h"
#include "util.h"

int tr_naive_ces(const cl_model *m, int C, const tr_example *e, float **out) {
    int D = m->cfg.dim, n = 0;
    for (int s = 0; s < e->n_seg; s++) n += (e->seg_len[s] + C - 1) / C;
    float *o = cl_calloc((size_t)n * D, sizeof(float));
    int k = 0, c0 = 0;
    for (int s = 0; s < e->n_seg; s++) {
        for (int j = 0; j < e->seg_len[s]; j += C, k++) {
            int cnt = e->seg_len[s] - j < C ? e->seg_len[s] - j : C;
            float *v = cl_malloc((size_t)D * sizeof *v);
            for (int i = 0; i < cnt; i++) {
                cl_mat_row(&m->tok_embd, e->ctx[c0 + j + i], v);
                for (int d = 0; d < D; d++) o[(long)k * D + d] += v[d] / cnt;
            }
            free(v);
        }
        c0 += e->seg_len[s];
    }
    *out = o;
    return n;
}

/* Summed NLL of e's answer after [BOS?] + prefix (embeddings or ids) + question. */
static int answer_nll(tr_tape *t, const cl_model *m, const tr_objective *o, const tr_example *e,
                      const float *pre, const int32_t *pre_ids, int n_pre, double *nll, int *count,
                      int *top1) {
    int D = m->cfg.dim, V = m->cfg.n_vocab, bos = o->bos ? 1 : 0;
    int T = bos + n_pre + e->n_q + e->n_a, a0 = bos + n_pre + e->n_q;
    float *x = cl_malloc((size_t)T * D * sizeof(float));
    int k = 0;
    if (bos) cl_mat_row(&m->tok_embd, m->cfg.bos_id, x), k = 1;
    for (int i = 0; i < n_pre; i++, k++)
        if (pre) memcpy(x + (long)k * D, pre + (long)i * D, D * sizeof(float));
        else cl_mat_row(&m->tok_embd, pre_ids[i], x + (long)k * D);
    for (int i = 0; i < e->n_q; i++, k++) cl_mat_row(&m->tok_embd, e->q[i], x + (long)k * D);
    for (int i = 0; i < e->n_a; i++, k++) cl_mat_row(&m->tok_embd, e->a[i], x + (long)k * D);
    int rc = tr_forward(t, m, NULL, x, 1, &T);
    free(x);
    if (rc) return -1;
    int first = a0 - 1 < 0 ? 1 : 0;   /* nothing predicts a[0] without any prefix */
    int np = e->n_a - first;
    float *lg = cl_malloc((size_t)(np > 0 ? np : 1) * V * sizeof(float));
    if (np > 0)
        cl_mat_gemm(0, 1, np, V, D, 1.0f, t->xf + (long)(a0 - 1 + first) * D, D, &m->output, 0.0f, lg, V);
    double s = 0;
    *top1 = 0;
    for (int i = 0; i < np; i++) {
        const float *l = lg + (long)i * V;
        float mx = l[0];
        int am = 0;
        for (int j = 1; j < V; j++)
            if (l[j] > mx) mx = l[j], am = j;
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
    if (bos) cl_mat_row(&m->tok_embd, m->cfg.bos_id, x);
    if (n_pre) memcpy(x + (long)bos * D, pre, (size_t)n_pre * D * sizeof(float));
    for (int j = 0; j < e->n_q; j++)
        cl_mat_row(&m->tok_embd, e->q[j], x + (long)(bos + n_pre + j) * D);
    int32_t *g = cl_malloc((size_t)e->n_a * sizeof(int32_t));
    int ng = tr_generate(m, NULL, x, np, e->n_a, NULL, 0, g);
    for (int j = 0; j < ng; j++) *agree += g[j] == e->a[j];
    free(g);
    free(x);
    return ng < 0 ? -1 : 0;
}

int tr_evaluate(const cl_model *m, const tr_objective *o, const tr_params *p, tr_example *ex, int n,
                tr_eval_result *r) {
    memset(r, 0, sizeof *r);
    tr_workspace w;
    tr_workspace_init(&w);
    double s[4] = {0}, agree = 0, agree_none = 0;
    long cnt[4] = {0}, top[4] = {0}, agree_n = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        tr_example *e = &ex[i];
        double v;
        int c, t1;
        float *ces = NULL, *nv = NULL;
        if (answer_nll(&w.stud, m, o, e, NULL, e->tctx ? e->tctx : e->ctx, e->tctx ? e->n_tctx : e->n_ctx, &v, &c, &t1)) { rc = -1; break; }
        s[0] += v; cnt[0] += c; top[0] += t1;
        if (answer_nll(&w.stud, m, o, e, NULL, NULL, 0, &v, &c, &t1)) { rc = -1; break; }
        s[2] += v; cnt[2] += c; top[2] += t1;
        int nn = tr_naive_ces(m, o->C, e, &nv);
        if (answer_nll(&w.stud, m, o, e, nv, NULL, nn, &v, &c, &t1)) rc = -1;
        s[3] += v; cnt[3] += c; top[3] += t1;
        free(nv);
        if (rc || !p) continue;
        int nc = tr_compress(&w, m, o, p, e, &ces);
        if (nc < 0 || answer_nll(&w.stud, m, o, e, ces, NULL, nc, &v, &c, &t1)) { free(ces); rc = -1; break; }
        s[1] += v; cnt[1] += c; top[1] += t1;
        double ag[2];
        if (greedy_agree(m, o, e, ces, nc, &ag[0]) || greedy_agree(m, o, e, NULL, 0, &ag[1])) rc = -1;
        agree += ag[0];
        agree_none += ag[1];
        agree_n += e->n_a;
        free(ces);
    }
    tr_workspace_free(&w);
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
