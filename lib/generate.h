/* generate.h — the one generation and scoring module (cl-eval, cl-train; story sampling): run a
 * prefix given as pieces (token ids or embeddings, e.g. BOS ids + concept embeddings + question
 * ids), then either score a continuation teacher-forced (its negative log-likelihood) or continue
 * it, greedily or sampled, with an optional per-token callback, timing the time to first token
 * and measuring the KV cache. */
#ifndef CL_GENERATE_H
#define CL_GENERATE_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "sample.h"

/* n positions, as ids or as embeddings [n, dim] (exactly one non-NULL when n > 0). */
typedef struct {
    const int32_t *ids;
    const float *embd;
    int n;
} cl_piece;

int cl_pieces_len(const cl_piece *p, int n_p);
/* Run the pieces through the model continuing kv; logits (may be NULL) of the last position. */
int cl_prefill_pieces(const cl_model *m, cl_kv *kv, const cl_piece *p, int n_p, float *logits);

/* log softmax(logits)[id], computed in double. */
double cl_log_prob(const float *logits, int n_vocab, int id);

/* Teacher-forced scoring of cont[0..n_cont) after the prefix (which must not be empty):
 * *nll_sum = -sum_i log p(cont[i] | prefix, cont[<i]) in nats, *top1 = how many cont[i] are the
 * argmax (may be NULL). */
int cl_score_continuation(const cl_model *m, const cl_piece *p, int n_p, const int32_t *cont,
                          int n_cont, double *nll_sum, int *top1);
/* The same, also writing each token's -log p (nats, rounded to float) into nll_each[0..n_cont)
 * when it is not NULL: the self-information of the continuation's tokens given the prefix. */
int cl_score_tokens(const cl_model *m, const cl_piece *p, int n_p, const int32_t *cont, int n_cont,
                    double *nll_sum, int *top1, float *nll_each);

typedef struct {
    double prefill_s;   /* the prefix's forward pass */
    double ttft_s;      /* prefix forward + choosing the first token */
    size_t kv_bytes;    /* KV cache after the prefix */
    double decode_s;    /* time in the one-token forwards after the first token */
    int decode_steps;   /* how many of them */
} cl_gen_stats;

/* Continuation of up to max_new tokens into out (may be NULL): greedy when smp is NULL, else
 * drawn by smp; stops before any of the n_stop ids in stop (-1 entries ignored), or after a
 * token for which on_token (may be NULL; called for every token kept, the last included)
 * returns non-zero.  st may be NULL.  Returns the number of tokens generated, or -1.  The KV
 * cache is exact (f32) and sized for the prefix + max_new. */
typedef int (*cl_token_fn)(void *ctx, int32_t id);
int cl_generate(const cl_model *m, const cl_piece *p, int n_p, int max_new, cl_sampler *smp,
                const int *stop, int n_stop, cl_token_fn on_token, void *ctx, int32_t *out,
                cl_gen_stats *st);
/* cl_generate continuing the caller's cache kv (any element type), which must have room for
 * the prefix + max_new - 1 more positions (the last token is not fed back). */
int cl_generate_kv(const cl_model *m, cl_kv *kv, const cl_piece *p, int n_p, int max_new,
                   cl_sampler *smp, const int *stop, int n_stop, cl_token_fn on_token, void *ctx,
                   int32_t *out, cl_gen_stats *st);

/* cl_generate, greedy, no callback. */
int cl_greedy(const cl_model *m, const cl_piece *p, int n_p, int max_new, const int *stop, int n_stop,
              int32_t *out, cl_gen_stats *st);

#endif
