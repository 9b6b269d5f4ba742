/* tape.h — the activation record ("tape") of one forward pass: what a backward pass needs.
 *
 * cl_forward fills it when cl_batch.tape is set (kv == NULL: independent sequences, the whole
 * batch in one span).  Like llm.c, every activation lives in one planned buffer sized from the
 * config and the batch shape, reached through named pointers; the buffer is reused (grown only)
 * across forwards.  The tape keeps pointers to the model and LoRA of its forward: they must stay
 * unchanged until the backward has run.  Rows are the batch's T positions.  Input embeddings
 * x[0] are as given (a forward from ids would have scaled them by embd_scale first). */
#ifndef CL_TAPE_H
#define CL_TAPE_H
#include <stddef.h>
#include "model.h"

typedef struct {
    float *xn1;               /* attention RMSNorm output [T, dim] (input of wq/wk/wv) */
    float *qr, *kr;           /* q, k before the per-head q/k norm (Qwen3; NULL without) */
    float *q, *k, *v;         /* q, k after norm and RoPE [T, q_dim], [T, kv_dim]; v [T, kv_dim] */
    float *att;               /* attention output (input of wo) [T, q_dim] */
    float *ao;                /* attention output projection before the post-attention norm
                                 [T, dim] (Gemma 3 post_norms; else NULL) */
    float *xmid;              /* residual stream after the attention block [T, dim] */
    float *xn2;               /* MLP RMSNorm output [T, dim] */
    float *g, *u, *h;         /* gate and up projections, h = silu(g) * u [T, ffn_dim] */
    float *fo;                /* down projection before the post-FFN norm [T, dim] (post_norms; else NULL) */
    float *lu[CL_LORA_NT];    /* LoRA x A^T [T, rank] of each adapted projection, else NULL */
} cl_tape_layer;

struct cl_tape {
    const cl_model *m;        /* the forward's model and LoRA (NULL: none) */
    const cl_lora *lora;
    int T, n_seq;
    int *seq_len;             /* [n_seq] */
    float *cos_t, *sin_t;     /* RoPE table [T, head_dim/2] */
    float *cos_l, *sin_l;     /* RoPE table of the sliding-window layers when it differs
                                 (rope_theta_local > 0), else NULL */
    float **x;                /* [n_layers + 1] residual stream [T, dim]: x[0] the input
                                 embeddings, x[l + 1] after layer l (before the final norm) */
    cl_tape_layer *layer;     /* [n_layers] */
    /* the last layer's rows (cl_batch.top_from): top_n of them, batch rows top_row[], the first of
     * sequence s being its row top_from[s].  When top_n < T, that layer's att, ao, xn2, g, u, h, fo
     * and lu of o/gate/up/down hold those rows only, packed in order (their first top_n rows), and
     * xmid and x[n_layers] at the other rows are the stream before the layer, x[n_layers - 1]. */
    int top_n;
    int *top_from, *top_row;
    float *arena;             /* owner of every float above */
    size_t arena_floats;
    int cap_layers, cap_seq, cap_rows;
};

void cl_tape_init(cl_tape *t);
void cl_tape_free(cl_tape *t);
/* Floats a tape needs for T rows of model config c with a LoRA of this rank (0: none) and
 * target mask (bit 1 << CL_LORA_*). */
size_t cl_tape_floats(const cl_config *c, int lora_rank, unsigned targets, int T);
/* Lay the tape out for a batch (cl_forward calls this); top_from as cl_batch's (NULL: all rows). */
void cl_tape_plan(cl_tape *t, const cl_model *m, const cl_lora *lora, int n_seq,
                  const int *seq_len, int T, const int *top_from);

#endif
