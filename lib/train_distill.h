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
 *   loss = 1/|S| sum_{l in S} 1/(N D) sum_{p, j} SmoothL1_beta((s_lpj - t_lpj) / sigma_l)
 *          + kl/N sum_p KL(softmax(t_p) || softmax(s_p))
 *          + ce/n_a sum_{i < n_a} -log softmax(s_i)[a_i],
 *   sigma_l = mean_{p,j} |t_lpj|, over the N = n_answer + 1 prediction positions p: the position
 *   before the first answer token and every answer token; l runs over S, the distilled layers'
 *   residual streams after the layer (not the input embeddings; default all L layers); t_p, s_p
 *   in the KL term are the logits (final norm + LM head of the last layer's state) of teacher
 *   and student at p, in nats; the ce term is the student's NLL of the answer tokens a_i (row i
 *   predicts a_i: the teacher's greedy continuation when the data has no answer, what cl-eval's
 *   utility scores).
 * With bos == 0 the BOS is left out of both sequences. */
#ifndef CL_TRAIN_DISTILL_H
#define CL_TRAIN_DISTILL_H
#include <stdint.h>
#include "compressor.h"
#include "model.h"
#include "tape.h"
#include "train_example.h"
#include "train_backward.h"

/* The trainable parameters are a cl_compressor's (LoRA A/B, linear W and b in c->params).
 * Their gradients: one flat vector with the compressor's layout (cl_compressor_layout) and views
 * into it. */
typedef struct {
    cl_lora lora;
    float *W, *b;
    float *data;
    size_t n;
} tr_grads;

void tr_grads_alloc(tr_grads *g, const cl_compressor *c);   /* zeroed */
void tr_grads_free(tr_grads *g);


typedef struct {
    int C;                    /* compression rate: placeholders = ceil(n / C) */
    int bos;                  /* prepend BOS to teacher and student sequences */
    float beta;               /* Smooth-L1 beta */
    uint8_t skip_layer[CL_MAX_LAYERS];   /* 1: the state after layer l is left out of S (all 0: all in) */
    float kl;                 /* weight of the logit KL term (0: none) */
    float ce;                 /* weight of the answer-token NLL term (0: none); S empty needs
                                 kl > 0 or ce > 0 */
} tr_objective;

typedef struct {
    cl_tape comp, stud;       /* the compressor's and the student's forward */
    tr_grad_scratch grad;     /* backward scratch */
    float *buf;               /* scratch */
    size_t buf_floats;
} tr_workspace;

void tr_workspace_init(tr_workspace *w);
void tr_workspace_free(tr_workspace *w);

/* The input embeddings [n, dim] the student is given for token ids: the rows cl_forward looks
 * up from ids (Gemma: times embd_scale), so feeding them as embd equals feeding the ids. */
void tr_embed(const cl_model *m, const int32_t *ids, int n, float *out);

/* Parse a --layers list into o->skip_layer for a model of n_layers layers: "none" (no layer) or
 * comma-separated 1-based layer numbers, each once.  0, or -1 with cl_error naming the bad item. */
int tr_parse_layers(const char *s, int n_layers, tr_objective *o);

/* Fills e->teacher and e->sigma (runs the teacher pass). */
int tr_teacher(const cl_model *m, const tr_objective *o, tr_example *e);

/* Loss of one example under compressor p (its rate must be o->C); if grad != NULL, ADDS
 * weight * dloss/dparams into grad (p's layout).  Returns 0 or -1; *loss gets the (unweighted)
 * loss. */
int tr_example_loss(tr_workspace *w, const cl_model *m, const tr_objective *o, const cl_compressor *p,
                    const tr_example *e, tr_grads *grad, float weight, double *loss);

#endif
