/* train_model.h — the decoder's forward pass with every activation saved (a "tape"), and its
 * backward pass: gradients flow to the input embeddings and to LoRA A/B; base weights stay frozen.
 * Like llm.c: the forward and backward of each block side by side, activations in one planned
 * buffer sized from the config and the batch shape.  Supports arch llama and qwen2 (q/k/v biases);
 * qwen3's q/k norm is not supported (tr_forward fails). */
#ifndef CL_TRAIN_MODEL_H
#define CL_TRAIN_MODEL_H
#include <stddef.h>
#include "model.h"

typedef struct {
    float *xn1, *rstd1, *q, *k, *v, *P, *att, *xmid, *xn2, *rstd2, *g, *u, *h;
    float *lu[CL_LORA_NT];    /* LoRA intermediates x A^T [T, r] */
} tr_layer_acts;

typedef struct {
    const cl_model *m;
    const cl_lora *lora;
    int T, n_seq;
    int *seq_len, *pos;
    float **x;                /* [n_layers+1] residual stream [T, dim]: x[0] input, x[l+1] after layer l */
    tr_layer_acts *la;
    float *xf, *rstdf;        /* final RMSNorm output [T, dim] and its rstd */
    /* backward scratch */
    float *dx, *dxm, *dxn, *dq, *dk, *dv, *datt, *dg, *du, *dh, *ds, *dlu;
    float *arena;
    size_t arena_floats;
    int cap_seq;
} tr_tape;

void tr_tape_init(tr_tape *t);
void tr_tape_free(tr_tape *t);
/* Floats the tape needs for this batch shape (the memory plan). */
size_t tr_tape_floats(const cl_config *c, int lora_rank, int n_seq, const int *seq_len);

/* Forward over n_seq independent sequences (each from position 0) given input embeddings
 * embd [T, dim], T = sum seq_len.  lora may be NULL.  The tape keeps pointers to m and lora. */
int tr_forward(tr_tape *t, const cl_model *m, const cl_lora *lora, const float *embd, int n_seq,
               const int *seq_len);

/* Backward.  d_final [T, dim]: gradient wrt the final-norm output (or NULL);
 * d_layer[l] (l = 0..n_layers, each [T, dim] or NULL; d_layer itself may be NULL): gradient wrt
 * residual stream x[l].  Outputs (each optional): d_embd [T, dim] (overwritten) and g_lora
 * (same shapes as the tape's lora; ACCUMULATED). */
int tr_backward(tr_tape *t, const float *d_final, float *const *d_layer, float *d_embd,
                cl_lora *g_lora);

/* Input/output widths of a LoRA target. */
void tr_lora_dims(const cl_config *c, int target, int *in, int *out);

#endif
