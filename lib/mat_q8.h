/* mat_q8.h — products with quantised weights (q8_0, q4_0, q4_K, q5_K, q6_K) in integer arithmetic,
 * as llama.cpp computes them (internal to mat.c; tests reach it through cl_mat_gemm).
 *
 * The activation rows are quantised first, the way llama.cpp's reference quantisers define it:
 *   for q8_0/q4_0 weights, q8_0 blocks of 32 (quantize_row_q8_0_ref): d = amax/127 kept as f16,
 *     q = roundf(x * (1/d)) with the unrounded d (q = 0 where 1/d overflows: cl_f16_scale_inv;
 *     d kept in f32 where its f16 is inf: cl_q8_0_act_scale);
 *   for k-quant weights, q8_K blocks of 256 (quantize_row_q8_K_ref): max = the first element of
 *     largest |x|, iscale = -128/max, q = min(127, nearest-even(iscale x)), d = 1/iscale (f32)
 *     (where -128/max overflows, the same on x 2^64 with d scaled back: cl_q8_k_scale).
 * Each weight block then gives an exact integer dot product with its activation block, and the
 * float part is one defined sequence per output entry (i, j), blocks in order, acc from 0:
 *   q8_0 / q4_0:   acc = fmaf((float)isum, dw * da, acc)            isum = sum (q_w - z) q_a
 *   q4_K / q5_K:   acc = fmaf((float)sumi, d * da, acc);            sumi = sum_sub sc * sum q_w q_a
 *                  acc = fmaf((float)summ, -(dmin * da), acc)       summ = sum_sub m * sum q_a
 *   q6_K:          acc = fmaf((float)sumi, d * da, acc)             sumi = sum_16 sc * sum (q_w-32) q_a
 *   then C[i,j] = alpha acc (beta == 0), else alpha acc + beta C[i,j].
 * Every kernel (portable C, AVX2, AVX512-VNNI) computes exactly this, so a result does not depend
 * on the machine, the thread count, the batch size M or how the rows are chunked
 * (tests/unit/test_quant_q8.c; tests/ref/ref_q8dot.py is an independent numpy version).  Against
 * the product with the dequantised f32 weights it differs by the activation rounding, within
 * sum_k |w_k| (step_k / 2 + 2^-10 |a_k|), step = the activation block's amax/127 (or /128): in
 * test_quant_q8 (random activations with 20x outliers) 5e-3 to 2.5e-2 of sum |a w|, as
 * llama.cpp's products do.  Per element the rounding is at most step/2 (a whole step for a q8_K
 * element clamped at 127), plus for q8_0 the f16 rounding of d: 2^-11 relative, but up to 2^-25
 * absolute where d is an f16 subnormal (amax < 127 2^-14) and all of it (the block reads as
 * zeros) where d rounds to 0 (amax < ~4e-6) (tests/unit/test_quant_tiny.c). */
#ifndef CL_MAT_Q8_H
#define CL_MAT_Q8_H
#include <math.h>
#include <stdint.h>
#include "mat.h"

/* Activation rows quantised for weights of dtype t: kb = 32 or 256 elements per block. */
typedef struct {
    int M, K, kb;
    int8_t *q;      /* [M, K] */
    float *d;       /* [M, K / kb] block scales */
    int16_t *bs;    /* [M, K / 16] sums of q per 16 elements */
} cl_q8act;

/* 1 if products with dtype t go through these kernels. */
int cl_q8_supports(cl_dtype t);
/* Quantise the M rows of op(A) (A^T when trans_a; row stride lda) of length K for weights of
 * dtype t into X (allocated here; cl_q8act_free releases it).  Rows are split over the thread pool
 * when there are many (each row's bytes do not depend on the split). */
void cl_q8act_make(cl_q8act *X, cl_dtype t, int trans_a, int M, int K, const float *A, int lda);
void cl_q8act_free(cl_q8act *X);
/* One activation row of length K (a multiple of the block) quantised as above: q[K], d[K / block],
 * bs[K / 16].  The portable quantisers are in mat_q8.c; cl_q8_quant_avx512 gives the AVX-512 ones
 * (bit for bit the same; NULL when the CPU lacks AVX512F+BW+VL) for blocks of kb = 32 (q8_0) or 256
 * (q8_K).  cl_q8act_make picks within CL_KERNELS's cap, as for the products. */
typedef void (*cl_q8_quant)(const float *x, int K, int8_t *q, float *d, int16_t *bs);
cl_q8_quant cl_q8_quant_avx512(int kb);
cl_q8_quant cl_q8_quant_generic(int kb);

/* The q8_K scale of a block whose first element of largest |x| is max (finite, not 0): iscale =
 * -128/max and pre = 1, llama.cpp's; q = min(127, nearest-even(iscale (x pre))), d = 1/iscale/pre.
 * Where -128/max overflows (|max| < 128/FLT_MAX, ~3.8e-37) llama.cpp's iscale is inf (q from
 * lrintf of inf or nan: unspecified; d = 0, so the block reads back as zeros).  Here pre = 2^64
 * then: x 2^64 is exact (a power of two; no product subnormal), the block is quantised as that
 * normal one, and d scaled back is rounded once to f32's subnormal grid, which q8_K's f32 scale
 * can hold (q8_0's f16 one cannot: cl_f16_scale_inv).  Normal blocks: pre = 1, the same bits. */
static inline void cl_q8_k_scale(float max, float *iscale, float *pre) {
    *pre = 1.0f, *iscale = -128.0f / max;
    if (isinf(*iscale)) *pre = 0x1p64f, *iscale = -128.0f / (max * 0x1p64f);
}

/* The stored scale of a q8_0 activation block from dd = amax/127: dd rounded to f16 as llama.cpp
 * keeps it, except where that is inf (amax >= ~8.32e6; llama.cpp's products are then inf or nan,
 * though the f32 product is finite): dd itself, which the products read as f32 like every d.
 * Every other block keeps llama.cpp's bits (tests/unit/test_quant_huge.c). */
static inline float cl_q8_0_act_scale(float dd) {
    const float h = cl_f16_to_f32(cl_f32_to_f16(dd));
    return isinf(h) ? dd : h;
}

/* C[M,N] = alpha X W^T + beta C for the first N rows of W (a supported dtype, K columns), on the
 * thread pool. */
void cl_q8_gemm(const cl_q8act *X, const cl_mat *W, int N, float alpha, float beta, float *C, int ldc);

/* Columns j0..j1-1 of the product: the kernel family's entry (mat_q8.c: portable; mat_q8_*.c). */
typedef void (*cl_q8_cols)(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta,
                           float *C, int ldc);
void cl_q8_cols_generic(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta,
                        float *C, int ldc);
/* NULL when the CPU lacks AVX512F+AVX512BW+AVX512-VNNI (resp. AVX2+FMA). */
cl_q8_cols cl_q8_cols_avx512(void);
cl_q8_cols cl_q8_cols_avx2(void);
/* The AVX512-VNNI decode kernel for dtype t and M activation rows (weights read in place, row by
 * row): NULL when M > 4 (the repacking kernel's case) or t is not supported.  Only for callers
 * that checked the CPU (cl_q8_cols_avx512 did). */
cl_q8_cols cl_q8_decode_avx512(cl_dtype t, int M);
/* The family cl_q8_gemm uses: "avx512-vnni", "avx2" or "generic" (CL_KERNELS=generic|avx2 limits it). */
const char *cl_q8_isa(void);

/* The one output combination every kernel uses. */
static inline float cl_q8_out(float acc, float alpha, float beta, float old) {
    float s = acc * alpha;
    return beta == 0.0f ? s : s + beta * old;
}

#endif
