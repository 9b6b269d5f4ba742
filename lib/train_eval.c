/* train_eval.c — NLL / utility / agreement of a compressor (see train_eval.h). */
#include "train_eval.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "generate.h"
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

/* The prefix [BOS?] + context (CE embeddings, or ids) + question as pieces. */
static void prefix(const cl_model *m, const tr_objective *o, const tr_example *e, const float *pre,
                   const int32_t *pre_ids, int n_pre, cl_piece p[3]) {
    p[0] = (cl_piece){.ids = &m->cfg.bos_id, .n = o->bos ? 1 : 0};
    p[1] = (cl_piece){.ids = pre ? NULL : pre_ids, .embd = pre, .n = n_pre};
    p[2] = (cl_piece){.ids = e->q, .n = e->n_q};
}

/* Summed NLL of e's answer after [BOS?] + prefix (embeddings or ids) + question, teacher-forced
 * (with nothing before it, a[0] is not predicted: the scoring starts at a[1]). */
static int answer_nll(const cl_model *m, const tr_objective *o, const tr_example *e,
                      const float *pre, const int32_t *pre_ids, int n_pre, double *nll, int *count,
                      int *top1) {
    cl_piece p[4];
    prefix(m, o, e, pre, pre_ids, n_pre, p);
    int first = cl_pieces_len(p, 3) == 0 ? 1 : 0;
    p[3] = (cl_piece){.ids = e->a, .n = first};
    *count = e->n_a - first > 0 ? e->n_a - first : 0;
    return cl_score_continuation(m, p, 4, e->a + first, *count, nll, top1);
}

/* Answer positions where the greedy continuation of [BOS?] + prefix + question equals e->a. */
static int greedy_agree(const cl_model *m, const tr_objective *o, const tr_example *e, const float *pre,
                        int n_pre, double *agree) {
    cl_piece p[3];
    prefix(m, o, e, pre, NULL, n_pre, p);
    *agree = 0;
    if (cl_pieces_len(p, 3) < 1) return 0;
    int32_t *g = cl_malloc((size_t)e->n_a * sizeof(int32_t));
    int ng = cl_greedy(m, p, 3, e->n_a, NULL, 0, g, NULL);
    for (int j = 0; j < ng; j++) *agree += g[j] == e->a[j];
    free(g);
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
