/* train_eval.h — how much of the context a compressor keeps, measured on held-out examples:
 * the teacher-forced NLL (nats/token) of the answer given (a) the full context tokens, (b) the
 * compressor's CEs, (c) no context, (d) the naive compression (mean of each C consecutive token
 * embeddings of a segment); utility = (c - b) / (c - a); and the greedy agreement: the fraction
 * of answer positions where the base model's greedy continuation from the CEs equals the
 * answer (the teacher's own greedy continuation when the data had no answer), and the same
 * without any context (agreement_none) as its floor; and, teacher-forced, how often the argmax
 * is the answer token (top1). */
#ifndef CL_TRAIN_EVAL_H
#define CL_TRAIN_EVAL_H
#include "train_distill.h"

typedef struct {
    double nll_full, nll_ce, nll_none, nll_naive, utility, agreement, agreement_none;
    double top1[4];           /* teacher-forced: argmax == answer token, for full, CE, none, naive */
    long tokens;
    int examples;
} tr_eval_result;

/* p == NULL: CE columns are skipped (NAN).  CEs come from cl_compress / cl_compress_naive. */
int tr_evaluate(const cl_model *m, const tr_objective *o, const cl_compressor *p, tr_example *ex, int n,
                tr_eval_result *r);

#endif
