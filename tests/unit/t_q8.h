/* t_q8.h — checks shared by the tests of q8 activations at the edges of the range
 * (test_quant_tiny.c, test_quant_huge.c).  Include after mat_q8.h. */
#ifndef T_Q8_H
#define T_Q8_H
#include <stdlib.h>
#include <string.h>

/* The row x (K floats) quantised for blocks of kb by the AVX-512 quantiser, against the portable
 * one's q, d, bs: 1 if bit for bit the same, 0 if not, -1 where this CPU has no AVX-512 one. */
__attribute__((unused))
static int t_q8_avx512_same(const float *x, int K, int kb, const int8_t *q, const float *d, const int16_t *bs) {
    cl_q8_quant v = cl_q8_quant_avx512(kb);
    if (!v) return -1;
    int8_t *q1 = malloc((size_t)K);
    float *d1 = malloc((size_t)(K / kb) * sizeof *d1);
    int16_t *bs1 = malloc((size_t)(K / 16) * sizeof *bs1);
    memset(q1, 1, (size_t)K);
    v(x, K, q1, d1, bs1);
    const int same = !memcmp(q, q1, (size_t)K) && !memcmp(d, d1, (size_t)(K / kb) * sizeof *d1) &&
                     !memcmp(bs, bs1, (size_t)(K / 16) * sizeof *bs1);
    free(q1), free(d1), free(bs1);
    return same;
}

/* Columns 0..N-1 (N <= 64) of X W^T by every kernel family this CPU has; C gets the portable
 * one's.  The number of families run, or -1 where one differs from the portable one's bits. */
__attribute__((unused))
static int t_q8_families(const cl_q8act *X, const cl_mat *W, int N, float *C) {
    cl_q8_cols fam[3] = {cl_q8_cols_generic, cl_q8_cols_avx2(), cl_q8_cols_avx512()};
    float Cf[64];
    int ran = 0, same = 1;
    for (int f = 0; f < 3; f++) {
        if (!fam[f]) continue;
        fam[f](X, W, 0, N, 1.0f, 0.0f, f ? Cf : C, N);
        if (f) same &= !memcmp(C, Cf, (size_t)N * sizeof *C);
        ran++;
    }
    return same ? ran : -1;
}

#endif
