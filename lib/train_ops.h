/* train_ops.h — the backward of the decoder's building blocks (their forwards are the engine's
 * ops, ops.h: each kernel below names the forward it differentiates).  Row-major float arrays;
 * activations are [T, n]; a Linear weight is [out, in].  Every product goes through cl_gemm.
 * Every *_bwd ACCUMULATES (+=) into its gradient outputs, so callers zero them first. */
#ifndef CL_TRAIN_OPS_H
#define CL_TRAIN_OPS_H
#include "mat.h"

/* cl_rmsnorm: y = x w r, r = 1/sqrt(mean(x^2) + eps) per row (recomputed from x). */
void tr_rmsnorm_bwd(const float *x, const float *w, const float *dy, int T, int D, float eps,
                    float *dx);

/* cl_rope_apply with table (cos_t, sin_t): the rotation is orthogonal, so the backward is the
 * rotation by -angle: dx (in place) <- R^T dx.  neg_sin is scratch of the table's size. */
void tr_rope_bwd(float *dx, int T, int n_heads, int hd, const float *cos_t, const float *sin_t,
                 int interleaved, float *neg_sin);

/* cl_linear (y = x W^T): bwd_x: dx += dy W.  bwd_w: dW += dy^T x, db += sum_t dy (each optional).
 * tr_mat_bwd_x: the same dx for a model weight in its stored dtype (in = W.cols, out = W.rows),
 * through cl_mat_gemm's untransposed orientation. */
void tr_linear_bwd_x(const float *dy, const float *W, int T, int in, int out, float *dx);
void tr_mat_bwd_x(const float *dy, const cl_mat *W, int T, float *dx);
void tr_linear_bwd_w(const float *dy, const float *x, int T, int in, int out, float *dW, float *db);

/* cl_lora_add (u = x A^T saved, y += scale u B^T; A [r, in], B [out, r]):
 * dA += (scale dy B)^T x, dB += scale dy^T u, dx += (scale dy B) A (each optional);
 * du is scratch [T, r]. */
void tr_lora_bwd(const float *x, const float *u, const float *A, const float *B, int r, float scale,
                 int T, int in, int out, const float *dy, float *dx, float *dA, float *dB, float *du);

/* cl_attention_win over n_seq independent causal sequences laid end to end (seq_len[] sums to
 * T), scores scaled by `scale`; window > 0: row i sees keys i-window+1 .. i (0: all up to i).
 * q [T, H*hd], k, v [T, KV*hd] as the forward read them (after RoPE); dout [T, H*hd].
 * dq, dk, dv += ...  q0 (NULL: all 0): per sequence, the first query row (0-based within it)
 * whose dout may be nonzero: the rows above it must have dout == 0, and their dq is left as is.
 * The probabilities are recomputed (not kept by the tape); scratch holds 2 * max L_s^2 floats. */
void tr_attn_bwd(const float *q, const float *k, const float *v, const float *dout, int n_seq,
                 const int *seq_len, const int *q0, int H, int KV, int hd, int window, float scale,
                 float *dq, float *dk, float *dv, float *scratch);

/* cl_swiglu (h = silu(g) * u, elementwise over n): dg += dh u silu'(g), du += dh silu(g). */
void tr_swiglu_bwd(const float *g, const float *u, const float *dh, long n, float *dg, float *du);

/* cl_geglu (h = gelu_tanh(g) * u, gelu_tanh(g) = g sigmoid(2 sqrt(2/pi) (g + 0.044715 g^3))):
 * dg += dh u gelu_tanh'(g), du += dh gelu_tanh(g). */
void tr_geglu_bwd(const float *g, const float *u, const float *dh, long n, float *dg, float *du);

/* Smooth-L1 (Huber / beta): sum over n of l(d_i), d = (a - b) * inv_scale,
 * l(d) = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta.  If da != NULL:
 * da += weight * dl/da.  Returns the sum times weight. */
double tr_smooth_l1(const float *a, const float *b, long n, float inv_scale, float beta,
                    float weight, float *da);

#endif
