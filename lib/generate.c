/* generate.c — prefix pieces, teacher-forced scoring and continuation (generate.h). */
#include "generate.h"

#include <math.h>
#include <stdlib.h>

#include "ops.h"
#include "util.h"

enum { SCORE_CHUNK = 64 };   /* continuation positions per logits_all forward */

int cl_pieces_len(const cl_piece *p, int n_p) {
    int n = 0;
    for (int i = 0; i < n_p; i++) n += p[i].n;
    return n;
}

int cl_prefill_pieces(const cl_model *m, cl_kv *kv, const cl_piece *p, int n_p, float *logits) {
    int last = -1;
    for (int i = 0; i < n_p; i++)
        if (p[i].n > 0) last = i;
    if (last < 0) return cl_fail("empty prompt");
    for (int i = 0; i <= last; i++) {
        if (p[i].n == 0) continue;
        cl_batch b = {.n_tokens = p[i].n, .ids = p[i].ids, .embd = p[i].embd,
                      .logits = i == last ? logits : NULL};
        if (cl_forward(m, kv, &b) < 0) return -1;
    }
    return 0;
}

double cl_log_prob(const float *logits, int n_vocab, int id) {
    double mx = logits[0], s = 0;
    for (int v = 1; v < n_vocab; v++)
        if (logits[v] > mx) mx = logits[v];
    for (int v = 0; v < n_vocab; v++) s += exp((double)logits[v] - mx);
    return (double)logits[id] - mx - log(s);
}

int cl_score_continuation(const cl_model *m, const cl_piece *p, int n_p, const int32_t *cont,
                          int n_cont, double *nll_sum, int *top1) {
    return cl_score_tokens(m, p, n_p, cont, n_cont, nll_sum, top1, NULL);
}

int cl_score_tokens(const cl_model *m, const cl_piece *p, int n_p, const int32_t *cont, int n_cont,
                    double *nll_sum, int *top1, float *nll_each) {
    int V = m->cfg.n_vocab, n_pre = cl_pieces_len(p, n_p);
    *nll_sum = 0;
    if (top1) *top1 = 0;
    if (n_cont <= 0) return 0;
    for (int i = 0; i < n_cont; i++)
        if (cont[i] < 0 || cont[i] >= V) return cl_fail("token id %d out of the vocabulary", cont[i]);
    cl_kv *kv = cl_kv_new(m, n_pre + n_cont);
    if (!kv) return -1;
    float *lg = cl_malloc((size_t)SCORE_CHUNK * V * sizeof *lg);
    int rc = cl_prefill_pieces(m, kv, p, n_p, lg);
    int done = 0, n = 1;   /* rows 0..n-1 of lg predict cont[done .. done+n) */
    while (rc == 0) {
        for (int i = 0; i < n; i++) {
            const float *row = lg + (size_t)i * V;
            double lp = cl_log_prob(row, V, cont[done + i]);
            *nll_sum -= lp;
            if (nll_each) nll_each[done + i] = (float)-lp;
            if (top1) *top1 += cl_argmax(row, V) == cont[done + i];
        }
        done += n;
        if (done == n_cont) break;
        n = n_cont - done < SCORE_CHUNK ? n_cont - done : SCORE_CHUNK;
        /* feed cont[done-1 .. done-1+n): row j then predicts cont[done + j] */
        cl_batch b = {.n_tokens = n, .ids = cont + done - 1, .logits = lg, .logits_all = 1};
        if (cl_forward(m, kv, &b) < 0) rc = -1;
    }
    free(lg);
    cl_kv_free(kv);
    return rc;
}

int cl_generate_kv(const cl_model *m, cl_kv *kv, const cl_piece *p, int n_p, int max_new,
                   cl_sampler *smp, const int *stop, int n_stop, cl_token_fn on_token, void *ctx,
                   int32_t *out, cl_gen_stats *st) {
    int V = m->cfg.n_vocab;
    float *lg = cl_malloc((size_t)V * sizeof *lg);
    int n = 0, rc = 0;
    double t0 = cl_now();
    if (st) *st = (cl_gen_stats){0};
    if (cl_prefill_pieces(m, kv, p, n_p, lg) < 0) {
        free(lg);
        return -1;
    }
    if (st) {
        st->prefill_s = cl_now() - t0;
        st->kv_bytes = cl_kv_bytes(kv);
    }
    for (; n < max_new; n++) {
        int32_t id = smp ? cl_sample(smp, lg, V) : cl_argmax(lg, V);
        if (n == 0 && st) st->ttft_s = cl_now() - t0;
        int is_stop = 0;
        for (int s = 0; s < n_stop; s++) is_stop |= stop[s] >= 0 && id == stop[s];
        if (is_stop) break;
        if (out) out[n] = id;
        int quit = on_token && on_token(ctx, id);
        if (quit || n + 1 == max_new) {
            n++;
            break;
        }
        double t = cl_now();
        cl_batch b = {.n_tokens = 1, .ids = &id, .logits = lg};
        if (cl_forward(m, kv, &b) < 0) {
            rc = -1;
            break;
        }
        if (st) st->decode_s += cl_now() - t, st->decode_steps++;
    }
    free(lg);
    return rc < 0 ? -1 : n;
}

int cl_generate(const cl_model *m, const cl_piece *p, int n_p, int max_new, cl_sampler *smp,
                const int *stop, int n_stop, cl_token_fn on_token, void *ctx, int32_t *out,
                cl_gen_stats *st) {
    cl_kv *kv = cl_kv_new(m, cl_pieces_len(p, n_p) + (max_new > 0 ? max_new : 1));
    if (!kv) return -1;
    int n = cl_generate_kv(m, kv, p, n_p, max_new, smp, stop, n_stop, on_token, ctx, out, st);
    cl_kv_free(kv);
    return n;
}

int cl_greedy(const cl_model *m, const cl_piece *p, int n_p, int max_new, const int *stop, int n_stop,
              int32_t *out, cl_gen_stats *st) {
    return cl_generate(m, p, n_p, max_new, NULL, stop, n_stop, NULL, NULL, out, st);
}
