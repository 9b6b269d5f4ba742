/* mat_bf16.h — products with bf16 weights in bf16 arithmetic (internal to mat.c).
 *
 * cl_bf16_gemm computes C[M,N] = alpha * op(A) W^T + beta * C for a bf16 W [N,K] (the Linear
 * orientation) the way llama.cpp does for bf16 weights: each activation is first rounded to bf16
 * (round to nearest even; subnormals flushed to signed zero, NaN kept quiet), then each output is
 * one float accumulator s over k in pairs: s = (s + a[2p+1] w[2p+1]) + a[2p] w[2p] for p = 0, 1, ..
 * (an odd K's last pair has a zero partner), each product exact, each add rounded to float (RNE)
 * and flushed to zero below 2^-126 — exactly what AVX512-BF16's vdpbf16ps does per lane (checked
 * against the hardware by the tests).  Then out = s * alpha (+ beta * C when beta != 0).
 *
 * That is the order of batches of 5 or more rows (prefill): AVX512-BF16 vdpbf16ps over weight panels
 * of 64 rows repacked on the fly into pair-interleaved columns (no permanent copy), one
 * accumulator per output.  Batches of 1 to 4 rows (decode) stream the weight rows instead: lane l
 * of 16 accumulates pairs l, l + 16, .. in the same per-pair order, then the lanes are added as
 * l + (l + 8), + 4, + 2, + 1.  The two orders differ in the last bits (each is within K 2^-24
 * sum|a w| of the exact product of the rounded values).
 *
 * Each order is computed by two kernels, AVX512-BF16 and portable C, with the same bits for every
 * batch size within the order (M <= 4 or M >= 5) and every thread count, while no product of two
 * bf16 values falls below 2^-126 in magnitude (the portable code then computes the product with a
 * subnormal float where the hardware flushes; weights and activations of real models are far from
 * that).  tests/unit/test_mat_bf16.c checks the identities and the agreement with a float64 numpy
 * product. */
#ifndef CL_MAT_BF16_H
#define CL_MAT_BF16_H
#include <stdint.h>
#include "mat.h"

/* The product above; use_simd 0 forces the portable kernel, 1 takes the AVX512-BF16 one when the
 * CPU has it.  W must be CL_BF16 with W->cols == K and W->rows == N. */
void cl_bf16_gemm(int use_simd, int trans_a, int M, int N, int K, float alpha, const float *A, int lda,
                  const cl_mat *W, float beta, float *C, int ldc);
/* 1 when cl_mat_gemm should take cl_bf16_gemm for this shape: the CPU has AVX512-BF16 (then every
 * shape measured faster than dequantised panels + sgemm, tests/bench/bench_bf16.c, and than the f32
 * row kernels in decode). */
int cl_bf16_gemm_wins(int M, int N, int K);
/* 1 when this CPU runs the AVX512-BF16 kernels (and CL_KERNELS says neither "generic" nor "avx2"). */
int cl_bf16_simd(void);
/* op(A) [M,K] as a new M x K row-major array (cl_malloc; the caller frees it), each value
 * rounded as cl_bf16_round does: the activations other kernels use for bf16 weights. */
float *cl_bf16_rounded(int trans_a, int M, int K, const float *A, int lda);
/* f to bf16 as cl_bf16_gemm rounds activations. */
uint16_t cl_bf16_round(float f);

#endif
