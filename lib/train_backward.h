/* train_backward.h — the decoder's backward pass over a forward's tape (tape.h): gradients flow
 * to the input embeddings and to LoRA A/B; base weights stay frozen.  Covers every op the
 * engine's forward runs (q/k/v biases, Qwen3's per-head q/k norm, both RoPE layouts, GQA).
 * Its scratch is one planned buffer with named pointers, reused (grown only) across calls. */
#ifndef CL_TRAIN_BACKWARD_H
#define CL_TRAIN_BACKWARD_H
#include <stddef.h>
#include "model.h"
#include "tape.h"

typedef struct {
    float *dx, *dxm, *dxn, *dpo, *dq, *dk, *dv, *datt, *dg, *du, *dh, *dlu, *neg_sin, *attn;
    /* a layer whose output gradient is zero above some row of each sequence (the top layer of
     * a loss on the sequences' last rows) runs on the rows below it only: their activations and
     * gradients gathered here */
    float *c_dx, *c_dxm, *c_dxn, *c_dq, *c_xn1, *c_xmid, *c_xn2, *c_att, *c_po, *c_g, *c_u, *c_h;
    float *c_lu[CL_LORA_NT];
    float *arena;
    size_t arena_floats;
    int *rows, *q0;           /* the active rows; per sequence, its first active row */
    int rows_cap, q0_cap;
    int all_rows;             /* 1: every layer on all rows, as if no gradient were zero (tests) */
} tr_grad_scratch;

void tr_grad_scratch_free(tr_grad_scratch *s);
/* Floats the scratch needs for a tape of T rows whose longest sequence has max_len rows. */
size_t tr_grad_scratch_floats(const cl_config *c, int lora_rank, int T, int max_len);

/* Backward of the forward recorded in t.  A layer whose output gradient is zero in the first rows
 * of each sequence runs its row-wise products (projections, MLP, LoRA) on the remaining rows only
 * and its attention backward on their queries only: the same sums without their zero terms.  d_final [T, dim]: gradient wrt the final-norm output
 * (or NULL); d_layer[l] (l = 0..n_layers, each [T, dim] or NULL; d_layer itself may be NULL):
 * gradient wrt the residual stream t->x[l].  Outputs (each optional): d_embd [T, dim]
 * (overwritten) and g_lora (same shapes as the tape's lora; ACCUMULATED).  0 or -1. */
int tr_backward(const cl_tape *t, tr_grad_scratch *s, const float *d_final, float *const *d_layer,
                float *d_embd, cl_lora *g_lora);

#endif
