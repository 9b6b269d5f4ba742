/* test_quant_q8.c — integer products with quantised weights (lib/mat_q8.[ch]) for q8_0, q4_0, q4_K,
 * q5_K, q6_K:
 *  - every kernel family this CPU runs (portable C, AVX2, AVX512-VNNI) gives bit-identical
 *    results, and so do a one-row product, a batch, and a batch cut in chunks;
 *  - the result agrees bit for bit with the independent numpy version tests/ref/ref_q8dot.py
 *    (activation quantisation as llama.cpp's quantize_row_q8_0 / q8_K, exact fma emulation);
 *  - against the product with the exactly dequantised f32 weights the error stays within the
 *    activation rounding bound: sum_k |w_k| (step_k / 2 + 2^-10 |a_k|) + 1e-5 sum |a w|, where
 *    step_k is the activation block's amax/127 (q8_0) or amax/128 (q8_K) (the f16-rounded q8_0
 *    scale adds up to 2^-11 relative; 2^-10 leaves room for the float sums);
 *  - cl_mat_gemm takes this path for M of 1 and more, and cl_gemm_fixed_order still holds;
 *  - decode shapes (M = 1..4, the in-place kernels): odd row counts, rows whose block count is not
 *    a multiple of 16, one and two threads, beta != 0, all equal to the portable kernel;
 *  - the AVX2 prefill kernel's shapes (row and column counts off its blocking), equal to it too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mat.h"
#include "mat_q8.h"
#include "ops.h"
#include "quant.h"
#include "t.h"
#include "util.h"

#define T_RNG_SEED 0x2545F4914F6CDD1Dull
#include "t_rng.h"

static const cl_dtype QT[] = {CL_Q8_0, CL_Q4_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
enum { NQT = sizeof QT / sizeof QT[0] };

typedef struct {
    cl_dtype t;
    int N, K;
    void *wq;
    float *wf;   /* dequantised */
    cl_mat W;
} wmat;

/* Weights quantised from uneven random data (rows of different magnitude, some outliers), or
 * (raw) random bytes with only the f16 scales made finite: every quant and sub-scale value occurs,
 * q8_0's -128 and q6_K's scale -128 included (where a kernel could saturate). */
static void make_w(wmat *m, cl_dtype t, int N, int K, int raw) {
    m->t = t, m->N = N, m->K = K;
    m->wf = cl_malloc((size_t)N * K * sizeof *m->wf);
    for (int i = 0; i < N * K; i++) m->wf[i] = urand() * (1.0f + (float)(i % 7)) * (rnd() % 50 ? 1.0f : 8.0f);
    size_t bytes = (size_t)cl_dtype_bytes(t, (int64_t)N * K);
    m->wq = cl_malloc(bytes);
    cl_quantize(t, m->wf, (int64_t)N * K, m->wq);
    if (raw) {
        uint8_t *b = m->wq;
        int bb = cl_dtype_block_bytes(t), d0 = t == CL_Q6_K ? 208 : 0, d1 = t == CL_Q4_K || t == CL_Q5_K ? 2 : -1;
        for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)rnd();
        for (size_t o = 0; o < bytes; o += (size_t)bb) {
            uint16_t h = cl_f32_to_f16(urand() * 0.01f);
            b[o + d0] = (uint8_t)h, b[o + d0 + 1] = (uint8_t)(h >> 8);
            if (d1 >= 0) h = cl_f32_to_f16(urand() * 0.01f), b[o + d1] = (uint8_t)h, b[o + d1 + 1] = (uint8_t)(h >> 8);
        }
    }
    cl_convert_to_f32(t, m->wq, 0, (int64_t)N * K, m->wf);
    cl_mat_view(&m->W, t, m->wq, N, K);
}

static float *make_a(int M, int K) {
    float *a = cl_malloc((size_t)M * K * sizeof *a);
    for (int i = 0; i < M * K; i++) a[i] = urand() * (i % 97 == 0 ? 20.0f : 1.0f);
    for (int k = 0; k < K && M > 1; k++) a[K + k] = 0.0f;   /* an all-zero row: scale 0 */
    /* a tiny row: values mostly subnormal, max below 3.7e-37, where 1/d and -128/max overflow
     * (mat_q8.h); its products are tiny too, so numpy sees what its q8_K blocks contribute */
    for (int k = 0; k < K && M > 2; k++) a[2 * K + k] *= 1e-38f;
    return a;
}

static float *run_cols(cl_q8_cols f, const wmat *m, const float *A, int M) {
    cl_q8act X;
    cl_q8act_make(&X, m->t, 0, M, m->K, A, m->K);
    float *C = cl_malloc((size_t)M * m->N * sizeof *C);
    f(&X, &m->W, 0, m->N, 1.0f, 0.0f, C, m->N);
    cl_q8act_free(&X);
    return C;
}

static size_t ndiff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(a + i, b + i, 4) != 0;
    return d;
}

static void test_kernels_agree(cl_dtype t, int M, int N, int K, int raw) {
    wmat m;
    make_w(&m, t, N, K, raw);
    float *A = make_a(M, K);
    float *g = run_cols(cl_q8_cols_generic, &m, A, M);
    cl_q8_cols fam[2] = {cl_q8_cols_avx512(), cl_q8_cols_avx2()};
    const char *nm[2] = {"avx512-vnni", "avx2"};
    for (int f = 0; f < 2; f++) {
        if (!fam[f]) {
            SKIP_CPU("%s: this CPU has no %s", cl_dtype_name(t), nm[f]);
            continue;
        }
        float *v = run_cols(fam[f], &m, A, M);
        size_t d = ndiff(g, v, (size_t)M * N);
        OK(!d, "%s%s M %d N %d K %d: %s bit-identical to generic (%zu differ)", cl_dtype_name(t), raw ? " random bytes" : "",
           M, N, K, nm[f], d);
        free(v);
    }
    /* through cl_mat_gemm: the whole batch, each row alone, chunks of 5 (trans_a, beta) */
    float *C = cl_malloc((size_t)M * N * sizeof *C), *C1 = cl_malloc((size_t)M * N * sizeof *C1);
    cl_mat_gemm(0, 1, M, N, K, 1.0f, A, K, &m.W, 0.0f, C, N);
    for (int i = 0; i < M; i++) cl_mat_gemm(0, 1, 1, N, K, 1.0f, A + (size_t)i * K, K, &m.W, 0.0f, C1 + (size_t)i * N, N);
    size_t d1 = ndiff(C, g, (size_t)M * N), d2 = ndiff(C1, g, (size_t)M * N);
    float *At = cl_malloc((size_t)M * K * sizeof *At);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) At[(size_t)k * M + i] = A[(size_t)i * K + k];
    for (int i = 0; i < M * N; i++) C1[i] = 1.0f;
    for (int i0 = 0; i0 < M; i0 += 5) {
        int n = M - i0 < 5 ? M - i0 : 5;
        cl_mat_gemm(1, 1, n, N, K, 0.5f, At + i0, M, &m.W, 0.0f, C1 + (size_t)i0 * N, N);
    }
    size_t d3 = 0;
    for (int i = 0; i < M * N; i++) d3 += C1[i] != g[i] * 0.5f;
    OK(!d1 && !d2 && !d3, "%s M %d: cl_mat_gemm batch, row by row, chunks of 5 (A^T, alpha) all equal the generic kernel (%zu %zu %zu differ)",
       cl_dtype_name(t), M, d1, d2, d3);

    /* against the dequantised f32 product: the activation rounding bound */
    int kb = cl_dtype_block(t) == 256 ? 256 : 32;
    double worst = 0, rel = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0, bound = 0;
            for (int b = 0; b < K / kb; b++) {
                float amax = 0;
                for (int k = b * kb; k < b * kb + kb; k++) amax = fmaxf(amax, fabsf(A[(size_t)i * K + k]));
                double step = amax / (kb == 32 ? 127.0 : 128.0);
                for (int k = b * kb; k < b * kb + kb; k++) {
                    double a = A[(size_t)i * K + k], w = m.wf[(size_t)j * K + k];
                    s += a * w, mag += fabs(a * w), bound += fabs(w) * (step / 2 + fabs(a) / 1024);
                }
            }
            double e = fabs(g[(size_t)i * N + j] - s);
            worst = fmax(worst, e / (bound + 1e-5 * mag + 1e-30));
            rel = fmax(rel, e / (mag + 1e-30));
        }
    OK(worst <= 1.0, "%s: within the activation rounding bound of the f32 product (worst %.2f of it; %.2g of sum|a w|)",
       cl_dtype_name(t), worst, rel);
    free(m.wf), free(m.wq), free(A), free(At), free(g), free(C), free(C1);
}

static void test_vs_numpy(cl_dtype t, int M, int N, int K, int raw) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        SKIP("/usr/bin/python3 with numpy not available: no reference");
        return;
    }
    wmat m;
    make_w(&m, t, N, K, raw);
    float *A = make_a(M, K);
    float *g = run_cols(cl_q8_cols_generic, &m, A, M);
    char wp[4096], ap[4096], op[4096], cmd[13000];
    snprintf(wp, sizeof wp, "%s", t_tmp("q8_w.bin"));
    snprintf(ap, sizeof ap, "%s", t_tmp("q8_a.f32"));
    snprintf(op, sizeof op, "%s", t_tmp("q8_c.f32"));
    size_t wb = cl_mat_bytes(&m.W);
    FILE *f = fopen(wp, "wb");
    int ok = f && fwrite(m.wq, 1, wb, f) == wb;
    if (f) fclose(f);
    f = fopen(ap, "wb");
    ok &= f && fwrite(A, 4, (size_t)M * K, f) == (size_t)M * K;
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/ref_q8dot.py %d %s %s %d %d %d %s", (int)t, wp, ap, N, K, M, op);
    char *ref = NULL;
    size_t rl = 0;
    ok = ok && system(cmd) == 0 && cl_read_file(op, &ref, &rl) == 0 && rl == (size_t)M * N * 4;
    size_t d = ok ? ndiff(g, (const float *)ref, (size_t)M * N) : 0;
    OK(ok && !d, "%s%s M %d N %d K %d: bit for bit as numpy ref_q8dot.py (%zu of %d differ)", cl_dtype_name(t),
       raw ? " random bytes" : "", M, N, K, d, M * N);
    free(ref), free(m.wf), free(m.wq), free(A), free(g);
}

/* Decode: M = 1..4 rows through cl_mat_gemm on 1 and 2 threads (N large enough to be split), with
 * beta = 0 and beta = -0.5 over a known C, against the portable kernel. */
static void test_decode(cl_dtype t, int N, int K) {
    wmat m;
    make_w(&m, t, N, K, 1);
    for (int M = 1; M <= 4; M++) {
        float *A = make_a(M, K), *g = run_cols(cl_q8_cols_generic, &m, A, M);
        float *C = cl_malloc((size_t)M * N * sizeof *C);
        size_t d[2][2] = {{0, 0}, {0, 0}};
        for (int th = 1; th <= 2; th++) {
            cl_set_threads(th);
            cl_mat_gemm(0, 1, M, N, K, 1.0f, A, K, &m.W, 0.0f, C, N);
            d[th - 1][0] = ndiff(C, g, (size_t)M * N);
            for (int i = 0; i < M * N; i++) C[i] = (float)(i % 13) - 6.0f;
            cl_mat_gemm(0, 1, M, N, K, 2.0f, A, K, &m.W, -0.5f, C, N);
            for (int i = 0; i < M * N; i++) d[th - 1][1] += C[i] != 2.0f * g[i] + -0.5f * ((float)(i % 13) - 6.0f);
        }
        cl_set_threads(1);
        OK(!d[0][0] && !d[0][1] && !d[1][0] && !d[1][1],
           "%s decode M %d N %d K %d (%s): 1 and 2 threads, beta 0 and -0.5, equal the generic kernel (%zu %zu %zu %zu differ)",
           cl_dtype_name(t), M, N, K, cl_q8_isa(), d[0][0], d[0][1], d[1][0], d[1][1]);
        free(A), free(g), free(C);
    }
    free(m.wf), free(m.wq);
}

/* The AVX2 prefill kernel (mat_q8_avx2.c, M >= 4: panels of 16 columns, blocks of 4 rows) called
 * directly: row counts around its blocking (4, 5, 7, 13), column ranges off the panel bounds
 * (columns 3..19 of 21: a panel and a tail, and 5 columns: fewer than a panel), alpha 2 and beta -0.5 over a known C,
 * uneven data and random bytes; bit for bit as the portable kernel, columns outside the range
 * untouched. */
static void test_avx2_prefill(cl_dtype t, int raw) {
    cl_q8_cols f = cl_q8_cols_avx2();
    if (!f) {
        SKIP_CPU("%s: this CPU has no avx2", cl_dtype_name(t));
        return;
    }
    static const int Ms[] = {4, 5, 7, 13}, Ns[][3] = {{21, 3, 20}, {5, 0, 5}};   /* N, j0, j1 */
    const int K = cl_dtype_block(t) == 256 ? 768 : 160;   /* 3 and 5 blocks */
    size_t d = 0;
    for (int n = 0; n < 2; n++) {
        const int N = Ns[n][0], j0 = Ns[n][1], j1 = Ns[n][2];
        wmat m;
        make_w(&m, t, N, K, raw);
        for (int k = 0; k < 4; k++) {
            const int M = Ms[k];
            float *A = make_a(M, K), *C0 = cl_malloc((size_t)M * N * sizeof *C0), *C1 = cl_malloc((size_t)M * N * sizeof *C1);
            for (int i = 0; i < M * N; i++) C0[i] = C1[i] = (float)(i % 13) - 6.0f;
            cl_q8act X;
            cl_q8act_make(&X, t, 0, M, K, A, K);
            cl_q8_cols_generic(&X, &m.W, j0, j1, 2.0f, -0.5f, C0, N);
            f(&X, &m.W, j0, j1, 2.0f, -0.5f, C1, N);
            d += ndiff(C0, C1, (size_t)M * N);
            cl_q8act_free(&X);
            free(A), free(C0), free(C1);
        }
        free(m.wf), free(m.wq);
    }
    OK(!d, "%s%s avx2 prefill M 4 5 7 13, columns 3..19 of 21 and 0..4 of 5, beta -0.5: bit-identical to generic (%zu differ)",
       cl_dtype_name(t), raw ? " random bytes" : "", d);
}

/* llama.cpp's activation quantisers on known values. */
static void test_act(void) {
    float x[256];
    for (int i = 0; i < 256; i++) x[i] = (float)(i % 32) - 10.0f;   /* per 32: -10 .. 21 */
    x[3] = -254.0f;   /* block 0 of 32: amax 254 -> d 2, exact halves round away from zero */
    x[5] = 3.0f;      /* 3/2 = 1.5 -> 2 */
    x[6] = -5.0f;     /* -2.5 -> -3 */
    cl_q8act X;
    cl_q8act_make(&X, CL_Q8_0, 0, 1, 256, x, 256);
    OK(X.d[0] == 2.0f && X.q[3] == -127 && X.q[5] == 2 && X.q[6] == -3 && X.q[0] == -5 && X.q[1] == -5 && X.q[9] == -1 && X.q[11] == 1 &&
           X.bs[0] == -5 - 5 - 4 - 127 - 3 + 2 - 3 - 2 - 1 - 1 + 0 + 1 + 1 + 2 + 2 + 3,
       "q8_0 activations: d = amax/127, roundf halves away from zero, sums per 16 (d %g q %d %d %d bs %d)", X.d[0], X.q[3], X.q[5],
       X.q[6], X.bs[0]);
    cl_q8act_free(&X);
    /* q8_K: max = -254 (largest |x|, negative) -> iscale = 128/254, it maps to -128; +21 -> 10.58 -> 11 */
    cl_q8act_make(&X, CL_Q4_K, 0, 1, 256, x, 256);
    OK(X.kb == 256 && X.q[3] == -128 && X.q[31] == 11 && X.d[0] == 1.0f / (-128.0f / -254.0f),
       "q8_K activations: iscale = -128/max, q = nearest, d = 1/iscale (q %d %d)", X.q[3], X.q[31]);
    cl_q8act_free(&X);
}

/* The AVX-512 activation quantisers are the portable ones bit for bit: exact halves (integers and
 * halves times a power of two), a tie for the largest |x| (q8_K takes the first), zero, inf and nan
 * blocks, random values. */
static void test_act_isa(void) {
    cl_q8_quant v[2] = {cl_q8_quant_avx512(32), cl_q8_quant_avx512(256)};
    if (!v[0]) return;
    enum { K = 1024 };
    static float x[K];
    uint32_t s = 12345;
    for (int i = 0; i < K; i++) {
        s = s * 1664525u + 1013904223u;
        int blk = i / 256;
        x[i] = blk == 0 ? (float)((int)(s >> 20) % 509 - 254) * 0.5f                 /* halves, many ties */
             : blk == 1 ? ((float)(s >> 8) / 16777216.0f - 0.5f) * 3e3f              /* random */
             : blk == 2 ? (float)((int)(s >> 24) % 15 - 7) * 0.25f : 0.0f;            /* +-7/4 ties for the max */
    }
    x[2 * 256 + 2] = -1.75f, x[2 * 256 + 9] = 1.75f;   /* q8_K: max = -1.75 (the first) */
    x[3 * 256 + 40] = INFINITY, x[3 * 256 + 100] = NAN;   /* blocks with inf / nan; the rest zero */
    for (int k = 0; k < 2; k++) {
        int kb = k ? 256 : 32;
        int8_t q[2][K];
        float d[2][K / 32];
        int16_t bs[2][K / 16];
        memset(q, 1, sizeof q), memset(bs, 1, sizeof bs);
        cl_q8_quant_generic(kb)(x, K, q[0], d[0], bs[0]);
        v[k](x, K, q[1], d[1], bs[1]);
        int ok = !memcmp(q[0], q[1], K) && !memcmp(bs[0], bs[1], sizeof bs[0]) && !memcmp(d[0], d[1], K / kb * sizeof(float));
        OK(ok, "%s activations: the AVX-512 quantiser is the portable one bit for bit (ties, inf/nan, zero blocks)",
           k ? "q8_K" : "q8_0");
    }
}

/* Prefill-sized activations are quantised on the pool: the same bytes at 1 and 2 threads, op(A)
 * plain and transposed (A^T stored [K, M]). */
static void test_act_threads(void) {
    enum { M = 300, K = 512 };
    float *A = make_a(M, K), *T = cl_malloc((size_t)M * K * sizeof *T);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) T[(size_t)k * M + i] = A[(size_t)i * K + k];
    for (int k = 0; k < 2; k++) {
        cl_dtype t = k ? CL_Q4_K : CL_Q8_0;
        cl_q8act X[3];
        cl_set_threads(1);
        cl_q8act_make(&X[0], t, 0, M, K, A, K);
        cl_set_threads(2);
        cl_q8act_make(&X[1], t, 0, M, K, A, K);
        cl_q8act_make(&X[2], t, 1, M, K, T, M);
        cl_set_threads(1);
        int ok = 1;
        for (int v = 1; v < 3; v++)
            ok &= !memcmp(X[0].q, X[v].q, (size_t)M * K) && !memcmp(X[0].d, X[v].d, (size_t)M * (K / X[0].kb) * sizeof(float)) &&
                  !memcmp(X[0].bs, X[v].bs, (size_t)M * (K / 16) * sizeof(int16_t));
        OK(ok, "%s activations M %d K %d: the same bytes at 1 and 2 threads, A and A^T", k ? "q8_K" : "q8_0", M, K);
        for (int v = 0; v < 3; v++) cl_q8act_free(&X[v]);
    }
    free(A), free(T);
}

/* The whole test again with CL_KERNELS capping the family cl_mat_gemm dispatches to. */
static void rerun(const char *self, const char *family) {
    char cmd[4400], want[64];
    snprintf(cmd, sizeof cmd, "CL_KERNELS=%s %s --again > %s", family, self, t_tmp("q8_again.tap"));
    int rc = system(cmd);
    char *out = NULL;
    size_t n = 0;
    snprintf(want, sizeof want, "# integer kernels: %s\n", family);
    int ok = rc == 0 && cl_read_file(t_tmp("q8_again.tap"), &out, &n) == 0 && strstr(out, want) && !strstr(out, "not ok");
    OK(ok, "all of the above with CL_KERNELS=%s (exit %d)", family, rc);
    free(out);
}

int main(int argc, char **argv) {
    printf("# integer kernels: %s\n", cl_q8_isa());
    test_act();
    test_act_isa();
    test_act_threads();
    for (int k = 0; k < NQT; k++) {
        int K = cl_dtype_block(QT[k]) == 256 ? 512 : 96;
        test_kernels_agree(QT[k], 11, 70, K, 0);   /* a panel tail: 70 = 2 x 32 + 6 */
        test_kernels_agree(QT[k], 1, 33, K, 0);
        test_kernels_agree(QT[k], 9, 48, K, 1);
        test_avx2_prefill(QT[k], 0);
        test_avx2_prefill(QT[k], 1);
        if (argc > 1) continue;   /* the rerun: numpy checked the generic kernel already */
        test_vs_numpy(QT[k], 6, 40, K, 0);
        test_vs_numpy(QT[k], 5, 17, K, 1);
    }
    /* q8_0 rows of 18 blocks: the decode kernel's 16-block groups and its tail */
    test_kernels_agree(CL_Q8_0, 4, 35, 576, 1);
    for (int k = 0; k < NQT; k++) {   /* decode: 16-block groups with tails (q8_0/q4_0 18 and 5 blocks) */
        int big = cl_dtype_block(QT[k]) == 256;
        test_decode(QT[k], 301, big ? 768 : 576);
        test_decode(QT[k], 37, big ? 256 : 160);
        if (argc == 1) test_vs_numpy(QT[k], 1, 37, big ? 768 : 576, 1);
    }
    /* tails of 1-15 blocks take 1, 2, 4 or 8 vectors of two blocks: one length for each */
    for (int n = 1; n <= 16; n *= 2) {
        test_decode(CL_Q8_0, 6, 32 * (16 + n - 1));
        test_decode(CL_Q4_0, 6, 32 * (32 + n + 1));
    }
    for (int k = 2; k < NQT; k++) test_decode(QT[k], 6, 256 * 5);   /* k-quant groups of 4 blocks and a tail of 1 */
    /* fixed order still routes through cl_gemm: the same as the dequantised product there */
    wmat m;
    make_w(&m, CL_Q8_0, 20, 64, 0);
    float *A = make_a(3, 64), C[60], R[60];
    int was = cl_gemm_fixed_order(1);
    cl_mat_gemm(0, 1, 3, 20, 64, 1.0f, A, 64, &m.W, 0.0f, C, 20);
    cl_gemm(0, 1, 3, 20, 64, 1.0f, A, 64, m.wf, 64, 0.0f, R, 20);
    cl_gemm_fixed_order(was);
    OK(!memcmp(C, R, sizeof C), "cl_gemm_fixed_order on: quantised products are cl_gemm's on the dequantised f32");
    free(m.wf), free(m.wq), free(A);
    if (argc == 1) {
        if (cl_q8_cols_avx2()) rerun(argv[0], "avx2");
        rerun(argv[0], "generic");
    }
    return t_done();
}
