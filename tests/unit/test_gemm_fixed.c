/* test_gemm_fixed.c — the fixed-order product: every variant the CPU has gives, bit for bit, the
 * order the header defines (checked against this file's own plain loop of fmaf), agrees with a
 * double-precision product, and a row's or column's bits do not depend on the matrix sizes. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm_fixed.h"
#include "ops.h"
#include "t.h"
#include "util.h"

static uint64_t rng = 99;
static float frand(void) {   /* uniform in [-1, 1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

/* op(X)[r][c] of X stored with row stride ld, transposed when tr. */
static float at(const float *X, int ld, int tr, int r, int c) { return tr ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c]; }

/* The header's definition, element by element. */
static void spec(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0;
            for (int k = 0; k < K; k++) acc = fmaf(at(A, lda, ta, i, k), at(B, ldb, tb, k, j), acc);
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0 ? alpha * acc : fmaf(alpha, acc, beta * *c);
        }
}

static float *rnd(size_t n) {
    float *x = cl_malloc((n + 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = frand();
    return x;
}

/* One case: every (trans_a, trans_b), strides wider than needed; C starts as NaN when beta is 0.
 * *spec_ok: bits equal spec(); *err: worst |C - exact| / (K * eps * sum|a b| + tiny). */
static void run_case(int M, int N, int K, float alpha, float beta, int *spec_ok, double *err) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
            float *A = rnd((size_t)(ta ? K : M) * lda), *B = rnd((size_t)(tb ? N : K) * ldb);
            float *C0 = rnd((size_t)M * ldc), *C1 = cl_malloc((size_t)M * ldc * sizeof *C1 + 1);
            float *C2 = cl_malloc((size_t)M * ldc * sizeof *C2 + 1);
            if (beta == 0)
                for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = NAN;
            memcpy(C1, C0, (size_t)M * ldc * sizeof *C1);
            memcpy(C2, C0, (size_t)M * ldc * sizeof *C2);
            cl_gemm_fixed(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
            spec(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
            if (memcmp(C1, C2, (size_t)M * ldc * sizeof *C1)) *spec_ok = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0, mag = 0;
                    for (int k = 0; k < K; k++) {
                        double p = (double)at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                        s += p;
                        mag += fabs(p);
                    }
                    double c0 = beta == 0 ? 0 : (double)beta * C0[(size_t)i * ldc + j];
                    double want = alpha * s + c0, tol = (K + 2) * 6e-8 * (fabs(alpha) * mag + fabs(c0)) + 1e-30;
                    double e = fabs(C1[(size_t)i * ldc + j] - want) / tol;
                    if (!(e <= *err)) *err = isnan(e) ? INFINITY : e;
                }
            for (int i = 0; i < M && *spec_ok; i++)   /* the padding columns of C are untouched */
                for (int j = N; j < ldc; j++)
                    if (memcmp(&C1[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float))) *spec_ok = 0;
            free(A); free(B); free(C0); free(C1); free(C2);
        }
}

/* Row r of an M x N product and column c of it do not depend on M, N or where they sit. */
static int invariant(void) {
    enum { K = 77, MM = 53, NN = 70 };
    float *A = rnd((size_t)MM * K), *B = rnd((size_t)NN * K), *full = cl_malloc(MM * NN * sizeof *full);
    float *part = cl_malloc(MM * NN * sizeof *part);
    cl_gemm_fixed(0, 1, MM, NN, K, 1.0f, A, K, B, K, 0.0f, full, NN);
    int ok = 1;
    static const int m0s[] = {0, 1, 5, 12, 13, 40}, ms[] = {1, 2, 7, 13}, n0s[] = {0, 3, 17, 33}, ns[] = {1, 9, 16, 31, 37};
    for (size_t a = 0; a < sizeof m0s / sizeof *m0s; a++)
        for (size_t b = 0; b < sizeof ms / sizeof *ms; b++)
            for (size_t c = 0; c < sizeof n0s / sizeof *n0s; c++)
                for (size_t d = 0; d < sizeof ns / sizeof *ns; d++) {
                    int m0 = m0s[a], m = ms[b], n0 = n0s[c], n = ns[d];
                    cl_gemm_fixed(0, 1, m, n, K, 1.0f, A + (size_t)m0 * K, K, B + (size_t)n0 * K, K, 0.0f, part, n);
                    for (int i = 0; i < m; i++)
                        if (memcmp(part + (size_t)i * n, full + (size_t)(m0 + i) * NN + n0, (size_t)n * sizeof(float)))
                            ok = 0;
                }
    free(A); free(B); free(full); free(part);
    return ok;
}

static void *flag_in_thread(void *arg) {
    *(int *)arg = cl_gemm_fixed_order(0);
    return NULL;
}

int main(void) {
    static const char *names[] = {"avx512f", "avx2", "scalar"};
    static const int shapes[][3] = {{1, 1, 1}, {1, 40, 128}, {12, 32, 16}, {13, 33, 17}, {25, 7, 128}, {6, 16, 8},
                                    {37, 70, 5}, {3, 100, 0}, {50, 17, 300}};
    const char *best = cl_gemm_fixed_isa();
    int tried = 0;
    float *ref_out = NULL;
    int same_all = 1;
    for (size_t v = 0; v < sizeof names / sizeof *names; v++) {
        if (cl_gemm_fixed_use(names[v]) < 0) {
            printf("# the CPU lacks %s: not tried\n", names[v]);
            continue;
        }
        tried++;
        int spec_ok = 1;
        double err = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            run_case(M, N, K, 1.0f, 0.0f, &spec_ok, &err);
            run_case(M, N, K, 0.25f, 1.0f, &spec_ok, &err);
            run_case(M, N, K, -1.5f, 0.5f, &spec_ok, &err);
        }
        OK(spec_ok, "%s: every element is the fmaf chain over k in order, then the epilogue, bit for bit (9 shapes x "
                    "4 transpositions x 3 alpha/beta; beta 0 never reads C; columns past N untouched)", names[v]);
        OK(err <= 1, "%s: within (K+2) * 6e-8 * sum|a b| of the double-precision product (worst %.3g of it)", names[v], err);
        OK(invariant(), "%s: a row's and a column's bits do not depend on M, N or their place (row 0..52, column "
                        "0..69 blocks)", names[v]);
        /* the same product in every variant */
        uint64_t keep = rng;
        rng = 7;
        float *A = rnd(61 * 130), *B = rnd(45 * 130), *C = cl_malloc(61 * 45 * sizeof *C);
        cl_gemm_fixed(0, 1, 61, 45, 130, 1.0f, A, 130, B, 130, 0.0f, C, 45);
        if (!ref_out) ref_out = C, C = NULL;
        else if (memcmp(ref_out, C, 61 * 45 * sizeof *C)) same_all = 0;
        free(A); free(B); free(C);
        rng = keep;
    }
    OK(tried >= 1 && same_all, "%d variants tried: identical bits in each (best here: %s)", tried, best);
    cl_gemm_fixed_use(NULL);
    OK(!strcmp(cl_gemm_fixed_isa(), best), "cl_gemm_fixed_use(NULL) goes back to the best variant (%s)", best);

    /* cl_gemm routes to it on this thread only */
    float *A = rnd(20 * 64), *B = rnd(30 * 64), *C1 = cl_malloc(600 * sizeof *C1), *C2 = cl_malloc(600 * sizeof *C2);
    int was = cl_gemm_fixed_order(1);
    cl_gemm(0, 1, 20, 30, 64, 1.0f, A, 64, B, 64, 0.0f, C1, 30);
    cl_gemm(0, 1, 1, 30, 64, 1.0f, A, 64, B, 64, 0.0f, C1 + 570, 30);   /* M == 1 too (BLAS uses sgemv) */
    int other = -1;
    pthread_t th;
    if (pthread_create(&th, NULL, flag_in_thread, &other) == 0) pthread_join(th, NULL);
    OK(cl_gemm_fixed_order(was) == 1 && was == 0 && other == 0, "cl_gemm_fixed_order: per thread, off by default");
    cl_gemm_fixed(0, 1, 20, 30, 64, 1.0f, A, 64, B, 64, 0.0f, C2, 30);
    cl_gemm_fixed(0, 1, 1, 30, 64, 1.0f, A, 64, B, 64, 0.0f, C2 + 570, 30);
    OK(!memcmp(C1, C2, 600 * sizeof *C1), "with it on, cl_gemm is cl_gemm_fixed, bit for bit (M 20 and M 1)");
    free(A); free(B); free(C1); free(C2); free(ref_out);
    return t_done();
}
