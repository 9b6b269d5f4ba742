/* test_gemm_offload.c — cl_gemm on products large enough for the `make CUDA=1` offload
 * (M*N*K >= 1<<22), with the weight operand in a cl_gemm_const region, against a double-precision
 * loop.  In the default build, or with CUDA=1 and no device, these run on the CPU; on a GPU they
 * check the cuBLAS call (transposes, strides, beta, the weight cache and its cl_gemm_forget). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "t.h"

static unsigned seed = 12345;
static float rnd(void) { return (float)((seed = seed * 1103515245u + 12345u) >> 9) / 4194304.0f - 1.0f; }

/* max |got - ref| / max |ref| over the M x N block of C (row stride ldc) */
static double relerr(const float *got, const double *ref, int M, int N, int ldc) {
    double e = 0, s = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double d = fabs(got[(size_t)i * ldc + j] - ref[(size_t)i * N + j]);
            e = d > e ? d : e;
            s = fabs(ref[(size_t)i * N + j]) > s ? fabs(ref[(size_t)i * N + j]) : s;
        }
    return e / (s > 0 ? s : 1);
}

/* ref = alpha op(A) op(B) + beta C0 in double */
static void reference(double *ref, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, const float *C0, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            ref[(size_t)i * N + j] = alpha * s + (double)beta * C0[(size_t)i * ldc + j];
        }
}

/* Every transpose pair, padded strides, beta 0 and not; the weight B in a const region. */
static void test_shapes(void) {
    int M = 96, N = 160, K = 300;   /* M*N*K = 4.6M, above the offload's default threshold */
    size_t big = (size_t)(K + 5) * (N + 5);
    float *A = malloc(big * sizeof *A), *W = malloc(big * sizeof *W);
    float *C = malloc((size_t)M * (N + 7) * sizeof *C), *C0 = malloc((size_t)M * (N + 7) * sizeof *C0);
    double *ref = malloc((size_t)M * N * sizeof *ref);
    for (size_t i = 0; i < big; i++) A[i] = rnd(), W[i] = rnd();
    cl_gemm_const(W, big * sizeof *W);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                float beta = bi ? 0.75f : 0.0f;
                int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
                for (size_t i = 0; i < (size_t)M * ldc; i++) C0[i] = rnd();
                reference(ref, ta, tb, M, N, K, 1.25f, A, lda, W, ldb, beta, C0, ldc);
                int ok = 1;
                for (int rep = 0; rep < 2 && ok; rep++) {   /* the second call reads the cached weight */
                    memcpy(C, C0, (size_t)M * ldc * sizeof *C);
                    cl_gemm(ta, tb, M, N, K, 1.25f, A, lda, W, ldb, beta, C, ldc);
                    ok = relerr(C, ref, M, N, ldc) < 1e-5;
                    for (int i = 0; i < M && ok; i++)   /* the stride's gap columns are left alone */
                        ok = !memcmp(C + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, 7 * sizeof *C);
                }
                OK(ok, "trans_a=%d trans_b=%d beta=%g: matches the double loop twice, gaps untouched", ta, tb, beta);
            }
    /* After cl_gemm_forget the weight may change: the next product must see the new values. */
    cl_gemm_forget(W);
    for (size_t i = 0; i < big; i++) W[i] = rnd();
    reference(ref, 0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C0, N);
    cl_gemm(0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N);
    OK(relerr(C, ref, M, N, N) < 1e-5, "changed weight after cl_gemm_forget: new result");
    free(A); free(W); free(C); free(C0); free(ref);
}

/* One row (decode) with a large weight: x [1, K] W[N, K]^T. */
static void test_one_row(void) {
    int N = 2048, K = 2048;
    float *x = malloc((size_t)K * sizeof *x), *W = malloc((size_t)N * K * sizeof *W);
    float *y = malloc((size_t)N * sizeof *y), *y0 = calloc((size_t)N, sizeof *y0);
    double *ref = malloc((size_t)N * sizeof *ref);
    for (int i = 0; i < K; i++) x[i] = rnd();
    for (size_t i = 0; i < (size_t)N * K; i++) W[i] = rnd();
    cl_gemm_const(W, (size_t)N * K * sizeof *W);
    reference(ref, 0, 1, 1, N, K, 1.0f, x, K, W, K, 0.0f, y0, N);
    cl_linear(y, x, W, 1, K, N, 0);
    OK(relerr(y, ref, 1, N, N) < 1e-5, "one row through a %dx%d weight", N, K);
    cl_gemm_forget(W);
    free(x); free(W); free(y); free(y0); free(ref);
}

/* cl_gemm_device(0) keeps products on the CPU: bitwise what OpenBLAS alone gives. */
static void test_device_switch(void) {
    int was = cl_gemm_device(0);
#ifdef CL_CUDA
    OK(was == 1, "the offload is allowed by default in a CUDA=1 build");
#else
    OK(was == 0, "no offload in the default build");
#endif
    OK(cl_gemm_device(0) == 0, "cl_gemm_device reports the setting it replaced");
    int M = 64, N = 256, K = 256;
    float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)N * K * sizeof *B);
    float *C = malloc((size_t)M * N * sizeof *C);
    double *ref = malloc((size_t)M * N * sizeof *ref);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = rnd();
    for (size_t i = 0; i < (size_t)N * K; i++) B[i] = rnd();
    cl_gemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    reference(ref, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    OK(relerr(C, ref, M, N, N) < 1e-5, "device off: product still right");
    cl_gemm_device(was);
    free(A); free(B); free(C); free(ref);
}

int main(void) {
    test_shapes();
    test_one_row();
    test_device_switch();
    return t_done();
}
