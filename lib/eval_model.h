/* eval_model.h — what cl-eval asks of the model: run a prefix given as pieces (token ids or
 * embeddings, e.g. BOS ids + concept embeddings + question ids), then either score a
 * continuation teacher-forced (its negative log-likelihood) or continue it greedily, timing the
 * time to first token and measuring the KV cache. */
#ifndef CL_EVAL_MODEL_H
#define CL_EVAL_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"

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

typedef struct {
    double prefill_s;   /* the prefix's forward pass */
    double ttft_s;      /* prefix forward + choosing the first token */
    size_t kv_bytes;    /* KV cache after the prefix */
} cl_gen_stats;

/* Greedy continuation of up to max_new tokens into out; stops before any of the n_stop ids in
 * stop (-1 entries ignored).  Returns the number of tokens generated, or -1. */
int cl_greedy(const cl_model *m, const cl_piece *p, int n_p, int max_new, const int *stop, int n_stop,
              int32_t *out, cl_gen_stats *st);

#endif
