/* ops.h — the decoder's building blocks on plain row-major float arrays.
 *
 * Each op is a pure function of its arguments (no model structs), so a backward pass or a GPU
 * offload can reuse or replace it one op at a time.  All matrix products but attention's (its own
 * kernel, cl_attention_kv) go through cl_gemm: under `make CUDA=1` that is the one place a device
 * implementation swaps in.
 * Rows are tokens; a "row of heads" is n_heads * head_dim consecutive floats. */
#ifndef CL_OPS_H
#define CL_OPS_H
#include <stddef.h>

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X^T when trans_X.
 * lda/ldb/ldc are the row strides of A, B, C as stored. */
void cl_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* cl_gemm_fixed_order(1): from now on, on the calling thread only, cl_gemm is cl_gemm_fixed
 * (gemm_fixed.h): every element's bits depend only on its own row of op(A) and column of op(B),
 * never on the matrix sizes, the BLAS library or its kernel, or a GPU (cl_compress's bit-exact
 * batching).  cl_gemm_fixed_order(0) goes back to BLAS (and the offload).  Returns the previous
 * setting. */
int cl_gemm_fixed_order(int on);
int cl_gemm_fixed_order_on(void);   /* the calling thread's setting; cl_mat_gemm (mat.h) reads it */

/* The optional GPU offload of cl_gemm (`make CUDA=1`, lib/cuda/gemm.h; no-ops without it).
 * cl_gemm_const: [p, p + bytes) holds matrices (the model's weights) that do not change once a
 * product has read them, until cl_gemm_forget(p): the offload keeps device copies of them.
 * cl_gemm_device(0) keeps every product on the CPU, cl_gemm_device(1) allows the offload again;
 * returns the previous setting.  The setting is process-wide. */
void cl_gemm_const(const void *p, size_t bytes);
void cl_gemm_forget(const void *p);
int cl_gemm_device(int on);

/* y[n,out] = x[n,in] W[out,in]^T (+ y when accumulate): a Linear layer on n rows. */
void cl_linear(float *y, const float *x, const float *W, int n, int in, int out, int accumulate);

/* LoRA on a Linear layer: u[n,r] = x[n,in] A[r,in]^T, then y[n,out] += scale * u B[out,r]^T. */
void cl_lora_add(float *y, const float *x, const float *A, const float *B, int n, int in, int out,
                 int rank, float scale, float *u);

/* y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, for n rows of dim floats; y may equal x. */
void cl_rmsnorm(float *y, const float *x, const float *w, int n, int dim, float eps);

/* Rotary position embedding.  Pair i of a head turns by pos * theta^(-2i/head_dim).
 * cl_rope_table fills cos/sin [n, head_dim/2] for positions pos[0..n-1] (computed in double);
 * cl_rope_apply rotates x [n, n_heads*head_dim] in place, row r with table row r.
 * interleaved: pairs are (2i, 2i+1) (llama2.c, GGUF llama); otherwise (i, i+head_dim/2)
 * (Hugging Face "rotate half").  cl_rope does both in one call. */
void cl_rope_table(float *cos_t, float *sin_t, const int *pos, int n, int head_dim, float theta);
/* Same from precomputed inverse frequencies inv [head_dim/2] (rope.h), cos and sin times mscale. */
void cl_rope_table_freq(float *cos_t, float *sin_t, const int *pos, int n, int head_dim, const double *inv,
                        float mscale);
void cl_rope_apply(float *x, int n, int n_heads, int head_dim, const float *cos_t,
                   const float *sin_t, int interleaved);
void cl_rope(float *x, int n, int n_heads, int head_dim, const int *pos, float theta,
             int interleaved);

/* Causal grouped-query attention for one sequence.
 *   q [n_q rows, row stride q_stride] holding n_heads heads; k, v [n_k rows, stride kv_stride]
 *   holding n_kv_heads heads (query head h reads kv head h / (n_heads / n_kv_heads)).
 *   Query row i sits at key position q_offset + i and sees keys 0 .. q_offset + i (< n_k).
 *   out [n_q rows, stride out_stride] gets n_heads heads.  Scale 1/sqrt(head_dim). */
void cl_attention(float *out, int out_stride, const float *q, int q_stride, int n_q,
                  const float *k, const float *v, int kv_stride, int n_k,
                  int n_heads, int n_kv_heads, int head_dim, int q_offset);
/* Same with a sliding window and an explicit scale: query at key position p sees keys
 * max(0, p - window + 1) .. p (window <= 0: all from 0); scores are q.k * scale. */
void cl_attention_win(float *out, int out_stride, const float *q, int q_stride, int n_q,
                      const float *k, const float *v, int kv_stride, int n_k,
                      int n_heads, int n_kv_heads, int head_dim, int q_offset, int window, float scale);
/* The one attention kernel (lib/attention.c; the two above call it): cl_attention_win with K and V
 * stored as kv_dtype (a cl_dtype: f32, f16 or bf16; kv_stride counts elements), read in place
 * (a KV cache).  Flash-style: key blocks of 64 with an online softmax, never an n_q x n_k score
 * matrix; scratch ~200 KiB per thread whatever the context.  Runs on the thread pool (pool.h).
 * Each output row's bits depend only on its query, the keys it sees, the scale and the window:
 * not on n_q, q_offset chunking, the thread count or the CPU's instruction set (AVX-512 and the
 * portable code perform the same IEEE operations).  A row that sees no key gets zeros. */
void cl_attention_kv(float *out, int out_stride, const float *q, int q_stride, int n_q, const void *k,
                     const void *v, int kv_dtype, int kv_stride, int n_k, int n_heads, int n_kv_heads,
                     int head_dim, int q_offset, int window, float scale);
/* For tests: on != 0 forces the portable kernels of cl_attention_kv (else the CPU's best);
 * returns the previous setting. */
int cl_attention_use_portable(int on);

/* Row-wise softmax in place on n rows of len floats (max-subtracted). */
void cl_softmax(float *x, int n, int len);

/* out = silu(gate) * up, elementwise over n floats; out may equal gate or up. */
void cl_swiglu(float *out, const float *gate, const float *up, long n);

/* Sum of x[i] y[i] over n, accumulated in 16 interleaved lanes then added: the same bits on
 * every CPU (the lanes are the code's, not the vectoriser's). */
float cl_dot_f32(const float *x, const float *y, int n);

/* out = gelu_tanh(gate) * up (GeGLU, HF "gelu_pytorch_tanh":
 * 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))), elementwise over n floats; out may alias. */
void cl_geglu(float *out, const float *gate, const float *up, long n);

/* Index of the largest of n floats (first one on ties). */
int cl_argmax(const float *x, int n);

/* Index of the first inf or nan of x[0..n), or n if all are finite. */
size_t cl_first_nonfinite(const float *x, size_t n);

#endif
