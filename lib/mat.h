/* mat.h — a weight matrix in its stored dtype (f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K),
 * usually mapped straight from the model file, and the products that read it.
 *
 * A product of one to four rows with W transposed (decode: y = x W^T) streams the stored rows
 * through a dot-product kernel chosen at run time for the CPU (mat_kern.h: AVX-512, else portable
 * code with AVX2/AVX-512 clones) on our thread pool (pool.h), f32 included (except under
 * `make CUDA=1`, where f32 products stay with cl_gemm and its offload).  Larger products: f32 goes
 * to cl_gemm unchanged; other dtypes dequantise panels of rows to f32 and hand them to cl_gemm.
 * bf16 with W transposed goes to mat_bf16.h's AVX512-BF16 kernels (decode and prefill) where the
 * CPU has them.
 *
 * Either way the result equals the product with the dequantised f32 matrix up to float summation
 * order (tests/unit/test_quant.c: within 1e-5 of sum |a w|).
 * Exception, bf16: bf16 weights with W transposed (every Linear of a forward pass) multiply
 * activations rounded to bf16 (nearest even; as llama.cpp does), on every CPU and for every M: the
 * result is the product of the bf16-rounded activations with the bf16 weights up to float
 * summation order (float64 numpy reference within K 2^-24 sum|a w|, tests/unit/test_mat_bf16.c),
 * and differs from the product with f32 activations by up to ~2^-9 of sum|a w|.  The backward
 * orientation (op(W) = W) and products on a thread with cl_gemm_fixed_order on keep f32
 * activations.  bf16 products on an AVX512-BF16 CPU do not depend on the thread count, nor on M
 * within M <= 4 and within M >= 5 (mat_bf16.h).
 * Exception, on by default: quantised weights (q8_0, q4_0, q4_K, q5_K, q6_K) in the Linear
 * orientation (trans_w) multiply in integers on quantised activation rows, as llama.cpp does
 * (mat_q8.h): the result then differs from the dequantised f32 product by the activation rounding
 * (a few 1e-3 of sum |a w|), but is bit-identical for any M, chunking, thread count and kernel
 * family (CL_KERNELS=generic|avx2 caps it).  cl_mat_int8(0) or CL_QUANT_DOT=f32 in the
 * environment turns it off (the dequantised f32 path above).  The few-row and panel paths sum in
 * different orders, so a row's result can differ in the last bits between a 1-row and a 5-row
 * batch (as sgemv and sgemm did before), except on a thread with cl_gemm_fixed_order on (ops.h):
 * there every product, of any M, goes through cl_gemm's fixed-order path (cl_compress). */
#ifndef CL_MAT_H
#define CL_MAT_H
#include <stddef.h>
#include "tensor.h"

typedef struct {
    cl_dtype dtype;
    int rows, cols;        /* [rows, cols], row-major: a Linear weight is [out, in] */
    size_t row_bytes;      /* bytes of one stored row */
    const void *data;      /* rows * row_bytes bytes, not owned */
} cl_mat;

/* A view of rows x cols floats at p. */
cl_mat cl_mat_f32(const float *p, int rows, int cols);
/* A view of stored data; 0, or -1 (cl_fail) if cols is not a whole number of blocks. */
int cl_mat_view(cl_mat *w, cl_dtype dtype, const void *data, int rows, int cols);
/* The f32 data of an f32 matrix, NULL for any other dtype. */
const float *cl_mat_f32_data(const cl_mat *w);
size_t cl_mat_bytes(const cl_mat *w);

/* out[0 .. cols-1] = row r as f32 (exact dequantisation). */
void cl_mat_row(const cl_mat *w, int r, float *out);

/* C[M,N] = alpha op(A) op(W) + beta C, row-major, A with row stride lda (op(A) = A^T when
 * trans_a).  trans_w: op(W) = W^T, W is [N,K] (the Linear orientation, y = x W^T); else
 * op(W) = W, W is [K,N] (the backward's dx = dy W).  beta == 0 ignores C's old contents. */
void cl_mat_gemm(int trans_a, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                 const cl_mat *W, float beta, float *C, int ldc);

/* cl_mat_gemm through panels of W dequantised to f32, each handed to cl_gemm (what cl_mat_gemm
 * does for products it has no own kernel for; benchmarks compare against it). */
void cl_mat_gemm_panels(int trans_a, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                        const cl_mat *W, float beta, float *C, int ldc);

/* Integer products for quantised weights on (1, the default unless CL_QUANT_DOT=f32) or off (0),
 * process-wide; returns the previous setting (-1: only read it). */
int cl_mat_int8(int on);

/* y[n, W.rows] = x[n, W.cols] W^T (+ y when accumulate). */
void cl_mat_linear(float *y, const float *x, const cl_mat *W, int n, int accumulate);

#endif
