/* test_quant_huge.c — what cl_quantize (lib/quant.c) refuses: blocks whose f16 scale would
 * round to inf (they would read back as inf/nan: llama.cpp writes them so), non-finite elements
 * in a block format, and finite values beyond f16/bf16; and that the largest blocks that fit
 * still work.
 *
 * Per format the block's outlier L sets the binding scale (q4_K/q5_K twice: d through a range
 * 0..L, dmin through a minimum -L).  The test finds the boundary from the scale's definition
 * (quant.h): the largest f32 L whose scale, computed in f32 as the format defines it, rounds to a
 * finite f16; it checks that boundary against quant.h's table (65520 times the divisors, within
 * 1e-6), then:
 *  - a row of three blocks with that L in the middle one quantises, and every element reads back
 *    finite and within one grid step of its input (q8_0 L/127, q4_0 L/8, q4_K L/15 + L/63,
 *    q5_K L/31 + L/63, q6_K L/31);
 *  - the next float above L (either sign where the sign matters) is refused: -1, and cl_error()
 *    names the middle block's elements, the format and L;
 *  - nan, inf and -inf in a block format are refused naming the element;
 *  - a block format refuses a length that is not whole blocks (the tail is not dropped);
 *  - f16/bf16: the largest finite values that round to finite pass, the next ones are refused
 *    naming the element; inf and nan are kept (f32 copied unchanged).
 * Activations (lib/mat_q8*.c, quantised at run time for integer products) are not refused: a
 * q8_0 activation block whose f16 scale would be inf keeps it in f32 (cl_q8_0_act_scale).  A row
 * with blocks of amax 1 .. 1e30 (1e7 and the boundary among them) checks:
 *  - q8_0 and q8_K activations: each element within half a step of its input (plus the f16
 *    rounding of d where it is f16), d = f16(amax/127) wherever that is finite (llama.cpp's bits);
 *    the AVX-512 quantisers the portable ones bit for bit;
 *  - its products with q8_0, q4_0, q4_K weights in every kernel family: bit-identical, and within
 *    mat_q8.h's bound sum |w| (step/2 + 2^-10 |a|) + 1e-6 sum |a w| of the f32 product with the
 *    dequantised weights (finite: llama.cpp's are inf or nan for the huge blocks). */
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

typedef struct {
    cl_dtype t;
    const char *what;
    float div1, div2;   /* the scale: fl(fl(L / div1) / div2) (div2 1: one division) */
    float sign;         /* the outlier's sign: -1 makes it the block's minimum */
    int nonneg;         /* the other elements in [0, 0.9 L] (else in [-0.9 L, 0.9 L], or [-0.9 L, 0] for sign -1 k-quants) */
    double table;       /* quant.h's limit: 65520 times the divisors */
    double tol;         /* one grid step, times L */
} huge_case;

static const huge_case CASES[] = {
    {CL_Q8_0, "q8_0 +", 127, 1, 1, 0, 8321040, 1.0 / 127},
    {CL_Q8_0, "q8_0 -", 127, 1, -1, 0, 8321040, 1.0 / 127},
    {CL_Q4_0, "q4_0 +", 8, 1, 1, 0, 524160, 1.0 / 8},
    {CL_Q4_0, "q4_0 -", 8, 1, -1, 0, 524160, 1.0 / 8},
    {CL_Q4_K, "q4_K d", 15, 63, 1, 1, 61916400, 1.0 / 15 + 1.0 / 63},
    {CL_Q4_K, "q4_K dmin", 63, 1, -1, 1, 4127760, 1.0 / 15 + 1.0 / 63},
    {CL_Q5_K, "q5_K d", 31, 63, 1, 1, 127960560, 1.0 / 31 + 1.0 / 63},
    {CL_Q5_K, "q5_K dmin", 63, 1, -1, 1, 4127760, 1.0 / 31 + 1.0 / 63},
    {CL_Q6_K, "q6_K", 31, 127, 1, 0, 257952240, 1.0 / 31},
};
enum { NCASE = sizeof CASES / sizeof CASES[0] };

static int scale_fits(const huge_case *c, float L) {
    const float d = (L / c->div1) / c->div2;
    return !isinf(cl_f16_to_f32(cl_f32_to_f16(d)));
}

/* The largest L that fits: up from a value that fits, down from one that does not. */
static float boundary(const huge_case *c) {
    float L = (float)(65504.0 * c->div1 * c->div2);
    while (scale_fits(c, nextafterf(L, INFINITY))) L = nextafterf(L, INFINITY);
    return L;
}

/* Three blocks: the first and last of magnitude 1, the middle one with outlier sign*L. */
static void make_row(const huge_case *c, float L, float *x, int be) {
    for (int i = 0; i < 3 * be; i++) {
        const float mag = i / be == 1 ? 0.9f * L : 1.0f;
        float u = urand();   /* [-1, 1) */
        if (c->nonneg) u = c->sign > 0 ? fabsf(u) : -fabsf(u);
        x[i] = mag * u;
    }
    x[be + 7] = c->sign * L;
}

static void test_boundaries(void) {
    for (int k = 0; k < NCASE; k++) {
        const huge_case *c = &CASES[k];
        const int be = cl_dtype_block(c->t), n = 3 * be;
        const float L = boundary(c), over = nextafterf(L, INFINITY);
        OK(!scale_fits(c, over) && fabs(L / c->table - 1) < 1e-6, "%s: boundary %.9g (quant.h: %.9g)", c->what,
           (double)L, c->table);
        float *x = cl_malloc((size_t)n * sizeof *x), *y = cl_malloc((size_t)n * sizeof *y);
        void *q = cl_malloc((size_t)cl_dtype_bytes(c->t, n));
        make_row(c, L, x, be);
        int rc = cl_quantize(c->t, x, n, q);
        int finite = 1, within = 1;
        if (rc == 0) {
            cl_convert_to_f32(c->t, q, 0, n, y);
            for (int i = 0; i < n; i++) {
                const double tol = (i / be == 1 ? L : 1.0) * c->tol;
                finite &= isfinite(y[i]) != 0;
                within &= fabs((double)y[i] - x[i]) <= tol;
            }
        }
        OK(rc == 0 && finite && within, "%s: a block at the boundary quantises and reads back finite, within a step", c->what);
        x[be + 7] = c->sign * over;
        rc = cl_quantize(c->t, x, n, q);
        char want[64], num[32];
        snprintf(want, sizeof want, "elements %d..%d: ", be, 2 * be - 1);
        snprintf(num, sizeof num, "%g", (double)over);   /* signed in the message where the sign matters */
        const char *e = rc ? cl_error() : "";
        OK(rc == -1 && !strncmp(e, want, strlen(want)) && strstr(e, cl_dtype_name(c->t)) && strstr(e, num) &&
               strstr(e, "beyond f16"),
           "%s: one float beyond is refused: %s", c->what, e);
        free(x); free(y); free(q);
    }
}

static void test_nonfinite(void) {
    static const cl_dtype T[] = {CL_Q4_0, CL_Q8_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *name[] = {"nan", "inf", "-inf"};
    for (size_t k = 0; k < sizeof T / sizeof *T; k++)
        for (int b = 0; b < 3; b++) {
            const int n = 2 * cl_dtype_block(T[k]);
            float *x = cl_malloc((size_t)n * sizeof *x);
            void *q = cl_malloc((size_t)cl_dtype_bytes(T[k], n));
            for (int i = 0; i < n; i++) x[i] = urand();
            x[n - 3] = bad[b];
            char want[64];
            snprintf(want, sizeof want, "element %d is %s: %s holds finite values only", n - 3, name[b], cl_dtype_name(T[k]));
            int rc = cl_quantize(T[k], x, n, q);
            OK(rc == -1 && !strcmp(cl_error(), want), "%s refuses %s: %s", cl_dtype_name(T[k]), name[b], rc ? cl_error() : "");
            free(x); free(q);
        }
}

/* A block format refuses a length that is not whole blocks (the tail is never dropped). */
static void test_partial_block(void) {
    static const cl_dtype T[] = {CL_Q4_0, CL_Q8_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
    for (size_t k = 0; k < sizeof T / sizeof *T; k++) {
        const int be = cl_dtype_block(T[k]), n = 2 * be + 1;
        float *x = cl_malloc((size_t)n * sizeof *x);
        void *q = cl_malloc((size_t)cl_dtype_bytes(T[k], 3 * be));
        for (int i = 0; i < n; i++) x[i] = urand();
        char want[80];
        snprintf(want, sizeof want, "%d elements are not whole %s blocks of %d", n, cl_dtype_name(T[k]), be);
        int rc = cl_quantize(T[k], x, n, q);
        OK(rc == -1 && !strcmp(cl_error(), want), "%s refuses %d elements: %s", cl_dtype_name(T[k]), n, rc ? cl_error() : "");
        OK(cl_quantize(T[k], x, n - 1, q) == 0, "%s takes %d elements", cl_dtype_name(T[k]), n - 1);
        free(x); free(q);
    }
}

static void test_float_dtypes(void) {
    const float f16_last = nextafterf(65520.0f, 0), bf16_last = nextafterf(0x1.FFp127f, 0);   /* below the halfway points */
    uint16_t h[6];
    float x[6] = {1.0f, f16_last, -f16_last, INFINITY, -INFINITY, NAN};
    int rc = cl_quantize(CL_F16, x, 6, h);
    OK(rc == 0 && h[1] == 0x7BFF && h[2] == 0xFBFF && h[3] == 0x7C00 && h[4] == 0xFC00 && (h[5] & 0x7FFF) > 0x7C00,
       "f16: %.9g -> 65504, inf and nan kept", (double)f16_last);
    x[1] = 65520.0f;
    rc = cl_quantize(CL_F16, x, 6, h);
    OK(rc == -1 && !strcmp(cl_error(), "element 1 is 65520, beyond f16 (max 65504)"), "f16: 65520 refused: %s", rc ? cl_error() : "");
    x[1] = 1, x[2] = -bf16_last;
    rc = cl_quantize(CL_BF16, x, 6, h);
    OK(rc == 0 && h[2] == 0xFF7F && h[3] == 0x7F80 && h[4] == 0xFF80 && (h[5] & 0x7FFF) > 0x7F80,
       "bf16: %.9g -> -bf16 max, inf and nan kept", (double)-bf16_last);
    x[2] = -0x1.FFp127f;
    char want[80];
    snprintf(want, sizeof want, "element 2 is %g, beyond bf16 (max 3.3895e+38)", (double)x[2]);
    rc = cl_quantize(CL_BF16, x, 6, h);
    OK(rc == -1 && !strcmp(cl_error(), want), "bf16: the halfway point refused: %s", rc ? cl_error() : "");
    float y[6];
    x[2] = FLT_MAX;
    rc = cl_quantize(CL_F32, x, 6, y);
    OK(rc == 0 && !memcmp(x, y, sizeof x), "f32: copied unchanged, nan included");
}

/* ---- activations ---- */
enum { AK = 256 * 4, AN = 4 };

/* Blocks of 32 with amax cycling through these (both signs), the rest uniform below it. */
static void make_act(float *a) {
    static const float AMAX[] = {1.0f, 8321039.5f, 8321040.0f, 1e7f, 3e9f, 1e20f, 1e30f, 0.5f};
    for (int i = 0; i < AK; i++) {
        const float m = AMAX[(i / 32) % 8];
        a[i] = m * 0.99f * urand();
        if (i % 32 == (i / 32) % 32) a[i] = (i / 32) % 2 ? -m : m;
    }
}

static void test_act(const float *a) {
    static int8_t q[AK];
    static float d[AK / 32];
    static int16_t bs[AK / 16];
    for (int k = 0; k < 2; k++) {
        const int kb = k ? 256 : 32;
        cl_q8_quant_generic(kb)(a, AK, q, d, bs);
        int bad = 0;
        for (int b = 0; b < AK / kb; b++) {
            float amax = 0;
            for (int i = 0; i < kb; i++) amax = fmaxf(amax, fabsf(a[kb * b + i]));
            const float dd = amax / 127.0f, h = cl_f16_to_f32(cl_f32_to_f16(dd));
            int ok = isfinite(d[b]) && (k || d[b] == (isinf(h) ? dd : h));
            const double step = k ? fabs(d[b]) : dd;
            for (int i = kb * b; i < kb * b + kb; i++)
                ok &= fabs((double)a[i] - (double)d[b] * q[i]) <=
                      (q[i] == 127 && k ? 1.0 : 0.5) * step * (1 + 0x1p-10) + abs(q[i]) * fabs((double)d[b] - dd) * !k;
            bad += !ok;
        }
        OK(!bad, "%s activations, blocks of amax 1 .. 1e30: finite scales, each element within half a step (%d blocks not)",
           k ? "q8_K" : "q8_0", bad);
        const int same = t_q8_avx512_same(a, AK, kb, q, d, bs);
        if (same < 0) SKIP_CPU("no AVX-512 quantiser on this CPU");
        else OK(same, "%s activations, huge blocks: the AVX-512 quantiser is the portable one bit for bit", k ? "q8_K" : "q8_0");
    }
}

static void test_products(const float *a) {
    const cl_dtype wt[] = {CL_Q8_0, CL_Q4_0, CL_Q4_K};
    float *wf = cl_malloc((size_t)AN * AK * sizeof *wf), *wd = cl_malloc((size_t)AN * AK * sizeof *wd);
    for (int i = 0; i < AN * AK; i++) wf[i] = urand();
    for (int k = 0; k < 3; k++) {
        const cl_dtype t = wt[k];
        void *wq = cl_malloc((size_t)cl_dtype_bytes(t, (int64_t)AN * AK));
        cl_quantize(t, wf, (int64_t)AN * AK, wq);
        cl_convert_to_f32(t, wq, 0, (int64_t)AN * AK, wd);
        cl_mat W;
        cl_mat_view(&W, t, wq, AN, AK);
        cl_q8act X;
        cl_q8act_make(&X, t, 0, 1, AK, a, AK);
        float C[AN];
        const int ran = t_q8_families(&X, &W, AN, C);
        int close = 1;
        const int kb = k == 2 ? 256 : 32;
        for (int j = 0; j < AN; j++) {
            double ref = 0, bound = 0;
            for (int b = 0; b < AK / kb; b++) {
                float amax = 0;
                for (int i = 0; i < kb; i++) amax = fmaxf(amax, fabsf(a[kb * b + i]));
                const double step = amax / (kb == 32 ? 127.0 : 128.0) * (kb == 32 ? 1 : 2);   /* q8_K: clamped at 127 */
                for (int i = kb * b; i < kb * b + kb; i++) {
                    const double w = wd[(size_t)j * AK + i];
                    ref += w * a[i];
                    bound += fabs(w) * (step / 2 + 0x1p-10 * fabs(a[i])) + 1e-6 * fabs(w * a[i]);
                }
            }
            close &= isfinite(C[j]) && fabs(C[j] - ref) <= bound;
        }
        OK(ran > 0 && close, "%s weights times the huge row: %d kernel families bit-identical, finite, within the bound of the f32 product",
           cl_dtype_name(t), ran);
        cl_q8act_free(&X);
        free(wq);
    }
    free(wf), free(wd);
}

int main(void) {
    static float a[AK];
    test_boundaries();
    test_nonfinite();
    test_partial_block();
    test_float_dtypes();
    make_act(a);
    test_act(a);
    test_products(a);
    return t_done();
}
