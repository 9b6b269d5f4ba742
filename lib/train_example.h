/* train_example.h — one training/evaluation example of cl-train: a context cut into segments
 * (what the compressor reads), an optional question, the answer, and the teacher's hidden states
 * at the answer positions (train_distill.h's objective). */
#ifndef CL_TRAIN_EXAMPLE_H
#define CL_TRAIN_EXAMPLE_H
#include <stdint.h>

typedef struct {
    int n_seg;
    int *seg_len;             /* [n_seg] */
    int32_t *ctx;             /* all segments' ids, concatenated (what the compressor reads) */
    int n_ctx, n_q, n_a;
    int32_t *tctx;            /* the context as the teacher reads it (the whole text encoded at
                                 once); NULL: the segments' ids */
    int n_tctx;
    int32_t *q, *a;
    float *teacher;           /* [n_layers, n_a + 1, dim], filled by tr_teacher */
    float *sigma;             /* [n_layers] */
} tr_example;

void tr_example_free(tr_example *e);

#endif
