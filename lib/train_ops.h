/* train_ops.h — forward and backward of the decoder's building blocks on plain float arrays,
 * for training (cl-train).  Row-major; activations are [T, n]; a Linear weight is [out, in].
 * Every *_bwd ACCUMULATES (+=) into its gradient outputs, so callers zero them first. */
#ifndef CL_TRAIN_OPS_H
#define CL_TRAIN_OPS_H
#include "mat.h"

/* y = x * w / sqrt(mean(x^2) + eps) per row; rstd[t] = 1/sqrt(mean(x_t^2) + eps) is saved. */
void tr_rmsnorm_fwd(const float *x, const float *w, int T, int D, float eps, float *y, float *rstd);
void tr_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy, int T, int D,
                    float *dx);

/* Rotary embedding in place on x [T, n_heads*hd]; pos[t] is the position of row t.
 * interleaved: pairs (2i, 2i+1); else (i, i+hd/2).  inverse rotates by -angle, which is the
 * backward of the forward rotation (an orthogonal map). */
void tr_rope(float *x, int T, const int *pos, int n_heads, int hd, float theta, int interleaved,
             int inverse);

/* y = x W^T (+ b): overwrite.  bwd_x: dx += dy W.  bwd_w: dW += dy^T x, db += sum_t dy. */
void tr_linear_fwd(const float *x, const float *W, const float *b, int T, int in, int out, float *y);
void tr_linear_bwd_x(const float *dy, const float *W, int T, int in, int out, float *dx);
void tr_linear_bwd_w(const float *dy, const float *x, int T, int in, int out, float *dW, float *db);
/* The same two with a model weight in its stored dtype (in = W.cols, out = W.rows): f32 takes
 * the functions above, other dtypes cl_mat_gemm (both orientations). */
void tr_linear_fwd_w(const float *x, const cl_mat *W, const float *b, int T, float *y);
void tr_linear_bwd_x_w(const float *dy, const cl_mat *W, int T, float *dx);

/* LoRA: u = x A^T [T, r] (saved), y += scale * u B^T.  A [r, in], B [out, r].
 * bwd: dA += (scale dy B)^T x, dB += scale dy^T u, dx += (scale dy B) A (dx may be NULL);
 * du is scratch [T, r]. */
void tr_lora_fwd(const float *x, const float *A, const float *B, int r, float scale, int T, int in,
                 int out, float *u, float *y);
void tr_lora_bwd(const float *x, const float *u, const float *A, const float *B, int r, float scale,
                 int T, int in, int out, const float *dy, float *dx, float *dA, float *dB, float *du);

/* Causal GQA attention over n_seq independent sequences laid end to end (seq_len[] sums to T).
 * q [T, H*hd], k, v [T, KV*hd] (q and k already rotated), out [T, H*hd] (overwrite).
 * P saves the softmax probabilities: for each sequence s, H blocks of L_s x L_s (tr_attn_psize). */
long tr_attn_psize(int n_seq, const int *seq_len, int H);
void tr_attn_fwd(const float *q, const float *k, const float *v, int n_seq, const int *seq_len,
                 int H, int KV, int hd, float *P, float *out);
/* dq, dk, dv += ...; ds is scratch of max L_s^2 floats. */
void tr_attn_bwd(const float *q, const float *k, const float *v, const float *P, const float *dout,
                 int n_seq, const int *seq_len, int H, int KV, int hd, float *dq, float *dk,
                 float *dv, float *ds);

/* h = silu(g) * u elementwise over n; bwd: dg += dh u silu'(g), du += dh silu(g). */
void tr_swiglu_fwd(const float *g, const float *u, long n, float *h);
void tr_swiglu_bwd(const float *g, const float *u, const float *dh, long n, float *dg, float *du);

/* Smooth-L1 (Huber / beta): sum over n of l(d_i), d = (a - b) * inv_scale,
 * l(d) = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta.  If da != NULL:
 * da += weight * dl/da.  Returns the sum times weight. */
double tr_smooth_l1(const float *a, const float *b, long n, float inv_scale, float beta,
                    float weight, float *da);

#endif
