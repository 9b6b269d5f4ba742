/* gemm_fixed.h — a matrix product whose every element has one fixed order of operations.
 *
 * cl_gemm_fixed has cl_gemm's contract (ops.h): C[M,N] = alpha * op(A) op(B) + beta * C, row-major.
 * Element (i, j) is always computed as
 *     acc = 0;  for k = 0 .. K-1:  acc = fma(op(A)[i][k], op(B)[k][j], acc);
 *     C[i][j] = beta == 0 ? alpha * acc : fma(alpha, acc, beta * C[i][j])
 * (IEEE single precision, round to nearest; beta == 0 never reads C).  Its bits therefore depend
 * only on row i of op(A), column j of op(B), K, alpha, beta and C[i][j]: never on M, N, the
 * position of the row or column, the tiling, the thread or the instruction set.  The AVX-512,
 * AVX2+FMA and scalar variants (picked once, at first use, from the CPU) give identical results;
 * the scalar one is slow unless the CPU has FMA (it calls fmaf).  This is what makes the
 * compressor's CEs independent of batch size and composition (compressor.c), whatever BLAS is
 * linked and whatever kernel it picks.  Single-threaded; reentrant. */
#ifndef CL_GEMM_FIXED_H
#define CL_GEMM_FIXED_H

void cl_gemm_fixed(int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The variant in use: "avx512f", "avx2" or "scalar". */
const char *cl_gemm_fixed_isa(void);

/* For tests and benchmarks: use variant name ("avx512f", "avx2", "scalar") from now on, or the
 * best one the CPU has when name is NULL.  -1 (and no change) when the CPU lacks it. */
int cl_gemm_fixed_use(const char *name);

#endif
