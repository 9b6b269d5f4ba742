/* train_distill.h — CompLLM's hidden-state distillation objective and its gradient.
 *
 * Trainable parameters: LoRA A/B on the compressor's projections and the linear layer W [D, D],
 * b [D] that maps the compressor's final-norm states at the placeholder positions to concept
 * embeddings (CEs).  One example:
 *   compressor: for each context segment (n_i tokens), the sequence
 *               [embd(tokens_i), embd(EOS) x ceil(n_i / C)] through base+LoRA, independent;
 *               CE = W z + b for the final-norm state z at every placeholder;
 *   teacher:    base model over [BOS, context, question, answer] (context: tctx, else ctx);
 *   student:    base model over [BOS, CEs, question, answer];
 *   loss = 1/L sum_{l=1..L} 1/(N D) sum_{p, j} SmoothL1_beta((s_lpj - t_lpj) / sigma_l),
 *   sigma_l = mean_{p,j} |t_lpj|, over the N = n_answer + 1 prediction positions p: the position
 *   before the first answer token and every answer token; l runs over the residual stream after
 *   each layer (not the input embeddings).
 * With bos == 0 the BOS is left out of both sequences. */
#ifndef CL_TRAIN_DISTILL_H
#define CL_TRAIN_DISTILL_H
#include <stdint.h>
#include "model.h"
#include "tape.h"
#include "train_backward.h"

/* Every trainable float in one flat vector (for AdamW and checkpoints); lora/W/b point into it. */
typedef struct {
    int rank, targets;        /* targets: bit mask of 1 << CL_LORA_* */
    float scale;
    cl_lora lora;
    float *W, *b;
    float *data;
    long n;
} tr_params;

int tr_params_alloc(tr_params *p, const cl_config *c, int rank, float alpha, int targets);
void tr_params_free(tr_params *p);
/* LoRA A ~ N(0, 1/in) (kaiming-like), B = 0; W = identity, b = 0 (the compressor starts as
 * "final-norm state -> embedding" with no change). */
void tr_params_init(tr_params *p, const cl_config *c, uint64_t seed);

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

typedef struct {
    int C;                    /* compression rate: placeholders = ceil(n / C) */
    int bos;                  /* prepend BOS to teacher and student sequences */
    float beta;               /* Smooth-L1 beta */
} tr_objective;

typedef struct {
    cl_tape comp, stud;       /* the compressor's and the student's forward */
    tr_grad_scratch grad;     /* backward scratch */
    float *buf;               /* scratch */
    size_t buf_floats;
} tr_workspace;

void tr_workspace_init(tr_workspace *w);
void tr_workspace_free(tr_workspace *w);

/* Fills e->teacher and e->sigma (runs the teacher pass). */
int tr_teacher(tr_workspace *w, const cl_model *m, const tr_objective *o, tr_example *e);

/* Loss of one example; if grad != NULL, ADDS weight * dloss/dparams into grad (same layout as p).
 * Returns 0 or -1; *loss gets the (unweighted) loss. */
int tr_example_loss(tr_workspace *w, const cl_model *m, const tr_objective *o, const tr_params *p,
                    const tr_example *e, tr_params *grad, float weight, double *loss);

/* Compress the segments of e into CEs [n_ce, dim] (malloc'd); returns n_ce or -1. */
int tr_compress(tr_workspace *w, const cl_model *m, const tr_objective *o, const tr_params *p,
                const tr_example *e, float **ces);

#endif
