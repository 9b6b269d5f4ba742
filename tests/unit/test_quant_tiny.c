/* test_quant_tiny.c — blocks of tiny magnitude in every quantiser (lib/quant.c, lib/mat_q8*.c).
 *
 * Where a block's largest |x| is below ~3.7e-37, the reciprocal scale of llama.cpp's reference
 * quantisers (1/d, -128/max) overflows to inf: x * inf is inf or nan, and converting that to an
 * integer is undefined behaviour.  Rows here mix such blocks (FLT_TRUE_MIN .. 1e-36, subnormal
 * values, zeros, both signs of the largest |x|) with normal ones (1e-30 .. 3e3), and check:
 *  - no undefined behaviour (this test runs under make check-asan, whose UBSan flags include
 *    float-cast-overflow);
 *  - each dequantised element within the format's half step of its input:
 *      q8_0 (activations and weights): |x - d q| <= 0.5 dd (1 + 2^-10) + |q| max(2^-11 dd, 2^-25),
 *        dd = amax/127 in f32, d its f16 rounding (the second term: f16 rounding of d, subnormal
 *        f16 included); where d rounds to 0 in f16 the block is exact zeros;
 *      q4_0 weights: likewise with dd = max/-8 and q - 8 for q, a whole step where q is clamped
 *        at 15 (the element of opposite sign to max at |x| > 7.5 |dd|);
 *      q8_K activations (f32 scale): |x - d q| <= 0.5 |d| (1 + 2^-10) + 65 FLT_TRUE_MIN, a whole
 *        |d| where q is clamped at 127; the second term is d's rounding to the subnormal grid
 *        (half a FLT_TRUE_MIN times |q| <= 128, and as much again in the step);
 *      q4_K, q5_K, q6_K weights (f16 scales, no reciprocal): tiny blocks are exact zeros;
 *  - the AVX-512 activation quantisers bit for bit the portable ones, and integer products of
 *    these rows with q8_0 and q4_K weights in every kernel family finite and bit-identical.
 * Normal blocks stay bit for bit llama.cpp's (test_quant_q8.c against tests/ref/ref_q8dot.py). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mat_q8.h"
#include "quant.h"
#include "t.h"
#include "t_q8.h"
#include "util.h"

#include "t_rng.h"

/* Per segment of 256 the block magnitude; 0: 32-blocks alternating 1e-39 and 1. */
static const float SCALE[] = {FLT_TRUE_MIN, 3 * FLT_TRUE_MIN, 100 * FLT_TRUE_MIN, 190 * FLT_TRUE_MIN, 1e-39f, 1e-38f,
                              FLT_MIN, 1e-37f, 3.7e-37f, 3.8e-37f, 1e-36f, 1e-30f, 1e-6f, 1e-4f, 1.0f, 3e3f, 0.0f};
enum { NSEG = sizeof SCALE / sizeof SCALE[0], K = 256 * NSEG };

/* Uniform values times the block magnitude s, every eleventh zero, and one element of each 32
 * set to +s or -s (so each block of 32 has amax s and a block of 256 both signs of it). */
static void make_row(float *x) {
    for (int i = 0; i < K; i++) {
        const int seg = i / 256, b = i / 32;
        const float s = SCALE[seg] != 0.0f ? SCALE[seg] : b % 2 ? 1.0f : 1e-39f;
        x[i] = i % 11 == 0 ? 0.0f : s * urand();
        if (i % 32 == (b * 5) % 32) x[i] = b % 2 ? -s : s;
    }
}

static float amax_of(const float *x, int n) {
    float a = 0.0f;
    for (int i = 0; i < n; i++) a = fmaxf(a, fabsf(x[i]));
    return a;
}

static float f16_round(float f) { return cl_f16_to_f32(cl_f32_to_f16(f)); }

/* The q8_0 / q4_0 bound above for element x dequantised as d * v (v = q, or q - 8), dd the
 * unrounded scale, half 0.5 (1 where v is clamped); 1 if it holds. */
static int within_f16_scaled(float x, float d, int v, float dd, double half) {
    if (f16_round(dd) != d) return 0;   /* d is dd rounded to f16 */
    if (d == 0.0f) return (float)v * d == 0.0f;   /* exact zeros */
    const double tol = half * fabs(dd) * (1 + 0x1p-10) + abs(v) * fmax(fabs(dd) * 0x1p-11, 0x1p-25);
    return fabs((double)x - (double)d * v) <= tol;
}

/* q8_0 blocks of 32 (q, d) against x: the bound above and the sums per 16; bad blocks counted. */
static int check_q8_0(const float *x, const int8_t *q, const float *d, const int16_t *bs) {
    int bad = 0;
    for (int b = 0; b < K / 32; b++) {
        const float dd = amax_of(x + 32 * b, 32) / 127.0f;
        int ok = 1;
        for (int i = 32 * b; i < 32 * b + 32; i++) ok &= q[i] != -128 && within_f16_scaled(x[i], d[b], q[i], dd, 0.5);
        for (int g = 2 * b; g < 2 * b + 2; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q[16 * g + l];
            ok &= bs[g] == s;
        }
        bad += !ok;
    }
    return bad;
}

/* q8_K blocks of 256: the bound above, the first element of largest |x| maps to -128, sums. */
static int check_q8_k(const float *x, const int8_t *q, const float *d, const int16_t *bs) {
    int bad = 0;
    for (int b = 0; b < K / 256; b++) {
        const float *xb = x + 256 * b, amax = amax_of(xb, 256);
        const int8_t *qb = q + 256 * b;
        int ok = isfinite(d[b]), first = -1;
        for (int i = 0; i < 256; i++) {
            if (first < 0 && amax > 0.0f && fabsf(xb[i]) == amax) first = i;
            const double half = qb[i] == 127 ? 1.0 : 0.5;
            ok &= fabs((double)xb[i] - (double)d[b] * qb[i]) <= half * fabs(d[b]) * (1 + 0x1p-10) + 65 * (double)FLT_TRUE_MIN;
        }
        ok &= amax == 0.0f ? d[b] == 0.0f : qb[first] == -128;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += qb[16 * g + l];
            ok &= bs[16 * b + g] == s;
        }
        if (!ok) printf("# q8_K block %d (amax %g): d %g, q of the first largest %d\n", b, amax, d[b], first >= 0 ? qb[first] : 0);
        bad += !ok;
    }
    return bad;
}

static void test_act(const float *x) {
    static int8_t q[K];
    static float d[K / 32];
    static int16_t bs[K / 16];
    for (int k = 0; k < 2; k++) {
        const int kb = k ? 256 : 32;
        const char *nm = k ? "q8_K" : "q8_0";
        cl_q8_quant_generic(kb)(x, K, q, d, bs);
        const int bad = k ? check_q8_k(x, q, d, bs) : check_q8_0(x, q, d, bs);
        OK(!bad, "%s activations, blocks of amax FLT_TRUE_MIN .. 3e3: each element within half a step of its input (%d of %d blocks not)",
           nm, bad, K / kb);
        const int same = t_q8_avx512_same(x, K, kb, q, d, bs);
        if (same < 0) SKIP_CPU("%s: this CPU has no AVX-512 quantiser", nm);
        else OK(same, "%s activations, tiny blocks: the AVX-512 quantiser is the portable one bit for bit", nm);
    }
}

static void test_weights(const float *x) {
    static uint8_t w[K / 32 * 34];
    static float y[K];
    /* q8_0: the activation bound, d read back from the block */
    cl_quantize(CL_Q8_0, x, K, w);
    cl_dequant_blocks(CL_Q8_0, w, K / 32, y);
    int bad = 0;
    for (int b = 0; b < K / 32; b++) {
        const float dd = amax_of(x + 32 * b, 32) / 127.0f, d = cl_f16_to_f32((uint16_t)(w[34 * b] | w[34 * b + 1] << 8));
        int ok = 1;
        for (int i = 0; i < 32; i++) {
            const int8_t qi = (int8_t)w[34 * b + 2 + i];
            ok &= qi != -128 && y[32 * b + i] == d * (float)qi && within_f16_scaled(x[32 * b + i], d, qi, dd, 0.5);
        }
        bad += !ok;
    }
    OK(!bad, "q8_0 weights, tiny blocks: each element within half a step of its input (%d of %d blocks not)", bad, K / 32);
    /* q4_0: dd = max / -8 (max: the first element of largest |x|) */
    cl_quantize(CL_Q4_0, x, K, w);
    cl_dequant_blocks(CL_Q4_0, w, K / 32, y);
    bad = 0;
    for (int b = 0; b < K / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < 32; i++)
            if (fabsf(xb[i]) > amax) amax = fabsf(xb[i]), max = xb[i];
        const uint8_t *o = w + 18 * b;
        const float d = cl_f16_to_f32((uint16_t)(o[0] | o[1] << 8));
        int ok = 1;
        for (int i = 0; i < 32; i++) {
            const int qi = i < 16 ? o[2 + i] & 0xF : o[2 + i - 16] >> 4;
            ok &= y[32 * b + i] == (float)(qi - 8) * d && within_f16_scaled(xb[i], d, qi - 8, max / -8.0f, qi == 15 ? 1.0 : 0.5);
        }
        bad += !ok;
    }
    OK(!bad, "q4_0 weights, tiny blocks: each element within half a step of its input (%d of %d blocks not)", bad, K / 32);
    /* k-quants: f16 scales, no reciprocal; blocks of amax <= 1e-30 come back as zeros */
    static uint8_t wk[K / 256 * 210];
    const cl_dtype kt[] = {CL_Q4_K, CL_Q5_K, CL_Q6_K};
    for (int k = 0; k < 3; k++) {
        cl_quantize(kt[k], x, K, wk);
        cl_dequant_blocks(kt[k], wk, K / 256, y);
        int ok = 1;
        for (int i = 0; i < K; i++) ok &= isfinite(y[i]) && (SCALE[i / 256] == 0.0f || SCALE[i / 256] > 1e-30f || y[i] == 0.0f);
        OK(ok, "%s weights: all finite, blocks of amax <= 1e-30 exact zeros", cl_dtype_name(kt[k]));
    }
}

/* The tiny row times q8_0 and q4_K weights in every kernel family: finite, bit-identical. */
static void test_products(const float *x) {
    enum { N = 8 };
    const cl_dtype wt[] = {CL_Q8_0, CL_Q4_K};
    float *wf = cl_malloc((size_t)N * K * sizeof *wf);
    for (int i = 0; i < N * K; i++) wf[i] = urand();
    for (int k = 0; k < 2; k++) {
        const cl_dtype t = wt[k];
        void *wq = cl_malloc((size_t)cl_dtype_bytes(t, (int64_t)N * K));
        cl_quantize(t, wf, (int64_t)N * K, wq);
        cl_mat W;
        cl_mat_view(&W, t, wq, N, K);
        cl_q8act X;
        cl_q8act_make(&X, t, 0, 1, K, x, K);
        float C[N];
        const int ran = t_q8_families(&X, &W, N, C);
        int ok = ran > 0;
        for (int j = 0; j < N; j++) ok &= isfinite(C[j]);
        OK(ok, "%s weights times the tiny row: finite, %d kernel families bit-identical", cl_dtype_name(t), ran);
        cl_q8act_free(&X);
        free(wq);
    }
    free(wf);
}

int main(void) {
    static float x[K];
    make_row(x);
    test_act(x);
    test_weights(x);
    test_products(x);
    return t_done();
}
