/* test_mat_bf16.c — products with bf16 weights in bf16 arithmetic (lib/mat_bf16.c):
 *  - activations rounded to bf16 (nearest even, subnormals to zero) as hand-computed;
 *  - against the independent numpy reference tests/ref/ref_bf16_gemm.py (bf16-rounded activations
 *    times bf16 weights in float64): |ours - ref| <= K 2^-24 sum|a w| per entry (one float
 *    rounding per add, K adds) — a product without the activation rounding misses it by ~2^-9;
 *  - the same bits whatever the kernel (AVX512-BF16 or portable C), the thread count (1 and 2), the
 *    batch size within each of the two orders (M <= 4: each row alone; M >= 5, up to 600: parts of
 *    5 or more rows), odd K and N, A transposed;
 *  - cl_mat_gemm takes this kernel for batches of more than 4 rows where it wins, bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mat.h"
#include "mat_bf16.h"
#include "t.h"
#include "util.h"

#define T_RNG_SEED 0x2545F4914F6CDD1Dull
#include "t_rng.h"

typedef struct {
    int M, N, K, lda;
    uint16_t *w;
    float *A;
    cl_mat W;
} prob;

/* random bf16 weights of varied magnitude and activations with a few exact zeros and ties */
static prob make(int M, int N, int K, int trans_a) {
    prob p = {M, N, K, (trans_a ? M : K) + 3, cl_malloc((size_t)N * K * 2 + 2), NULL, {0}};
    for (size_t i = 0; i < (size_t)N * K; i++) p.w[i] = cl_bf16_round(ldexpf(urand(), -(int)(rnd() % 6)));
    size_t na = (size_t)(trans_a ? K : M) * p.lda;
    p.A = cl_malloc(na * sizeof *p.A + 4);
    for (size_t i = 0; i < na; i++) p.A[i] = rnd() % 17 == 0 ? 0.0f : ldexpf(urand(), (int)(rnd() % 8) - 4);
    cl_mat_view(&p.W, CL_BF16, p.w, N, K);
    return p;
}
static void drop(prob *p) { free(p->w), free(p->A); }

static void test_round(void) {
    float f[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -1.0f - 0x1p-9f, 0x1p-130f, -0x1p-140f, 3.0e38f * 1.2f};
    uint16_t want[] = {0x3f80, 0x3f82, 0xbf80, 0x0000, 0x8000, 0x7f80};
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= cl_bf16_round(f[i]) == want[i];
    float qnan = nanf("");
    uint16_t n = cl_bf16_round(qnan);
    OK(ok && (n & 0x7f80) == 0x7f80 && (n & 0x7f), "bf16 rounding: ties to even, subnormals to signed zero, inf, NaN");
}

static void test_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        SKIP("/usr/bin/python3 with numpy not available: no reference product");
        return;
    }
    static const int sh[][3] = {{1, 67, 33}, {3, 70, 1001}, {5, 130, 577}, {13, 1, 64}, {600, 67, 1}, {97, 200, 1001}};
    for (int s = 0; s < 6; s++) {
        int M = sh[s][0], N = sh[s][1], K = sh[s][2];
        prob p = make(M, N, K, 0);
        float *A = cl_malloc((size_t)M * K * sizeof *A), *C = cl_malloc((size_t)M * N * sizeof *C);
        for (int i = 0; i < M; i++) memcpy(A + (size_t)i * K, p.A + (size_t)i * p.lda, (size_t)K * sizeof *A);
        cl_bf16_gemm(1, 0, M, N, K, 1.0f, p.A, p.lda, &p.W, 0.0f, C, N);
        char fa[4096], fw[4096], fo[4096], cmd[13000];
        snprintf(fa, sizeof fa, "%s", t_tmp("bf16_a.f32"));
        snprintf(fw, sizeof fw, "%s", t_tmp("bf16_w.bf16"));
        snprintf(fo, sizeof fo, "%s", t_tmp("bf16_ref.f64"));
        FILE *f1 = fopen(fa, "wb"), *f2 = fopen(fw, "wb");
        int wrote = f1 && f2 && fwrite(A, 4, (size_t)M * K, f1) == (size_t)M * K && fwrite(p.w, 2, (size_t)N * K, f2) == (size_t)N * K;
        if (f1) fclose(f1);
        if (f2) fclose(f2);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/ref_bf16_gemm.py %d %d %d %s %s %s", M, N, K, fa, fw, fo);
        char *ref = NULL;
        size_t rl = 0;
        int ok = wrote && system(cmd) == 0 && cl_read_file(fo, &ref, &rl) == 0 && rl == (size_t)2 * M * N * 8;
        double worst = 0;   /* |ours - ref| / (K 2^-24 sum|a w|) */
        for (size_t i = 0; ok && i < (size_t)M * N; i++) {
            double r, mag;
            memcpy(&r, ref + 8 * i, 8);
            memcpy(&mag, ref + 8 * ((size_t)M * N + i), 8);
            double e = fabs(C[i] - r), bound = K * 0x1p-24 * mag;
            worst = fmax(worst, e == 0 ? 0 : e / (bound > 0 ? bound : 1e-300));
        }
        OK(ok && worst <= 1.0, "numpy M %d N %d K %d (%s): error %.3g of the bound K 2^-24 sum|a w|", M, N, K,
           cl_bf16_simd() ? "avx512bf16" : "portable", worst);
        free(ref), free(A), free(C);
        drop(&p);
    }
}

/* C for (kernel, threads), whole batch and row by row, all the same bits */
static void test_identity(int M, int N, int K, int trans_a) {
    prob p = make(M, N, K, trans_a);
    size_t nc = (size_t)M * (N + 1);
    float *C0 = cl_malloc(nc * sizeof *C0), *C = cl_malloc(nc * sizeof *C);
    for (size_t i = 0; i < nc; i++) C0[i] = urand();
    float alpha = 0.75f, beta = M % 2 ? 0.5f : 0.0f;
    float *ref = cl_malloc(nc * sizeof *ref);
    memcpy(ref, C0, nc * sizeof *ref);
    cl_set_threads(1);
    cl_bf16_gemm(0, trans_a, M, N, K, alpha, p.A, p.lda, &p.W, beta, ref, N + 1);   /* portable, 1 thread */
    int same = 1;
    for (int simd = 0; simd < 2; simd++)
        for (int th = 1; th <= 2; th++) {
            cl_set_threads(th);
            memcpy(C, C0, nc * sizeof *C);
            cl_bf16_gemm(simd, trans_a, M, N, K, alpha, p.A, p.lda, &p.W, beta, C, N + 1);
            same &= !memcmp(C, ref, nc * sizeof *C);
        }
    /* the batch in parts: rows one at a time for a decode batch (M <= 4), else parts of >= 5 rows */
    memcpy(C, C0, nc * sizeof *C);
    for (int i = 0, step; i < M; i += step) {
        step = M <= 4 ? 1 : M - i >= 10 ? 5 + (int)(rnd() % (unsigned)(M - i - 9)) : M - i;
        cl_bf16_gemm(1, trans_a, step, N, K, alpha, trans_a ? p.A + i : p.A + (size_t)i * p.lda, p.lda, &p.W, beta,
                     C + (size_t)i * (N + 1), N + 1);
    }
    int rows = !memcmp(C, ref, nc * sizeof *C);
    /* through cl_mat_gemm: the same bits where it takes the kernel */
    memcpy(C, C0, nc * sizeof *C);
    cl_mat_gemm(trans_a, 1, M, N, K, alpha, p.A, p.lda, &p.W, beta, C, N + 1);
    int via = !cl_bf16_gemm_wins(M, N, K) || !memcmp(C, ref, nc * sizeof *C);
    OK(same && rows && via, "M %d N %d K %d trans_a %d beta %g: kernels, threads 1/2, %s%s: same bits", M, N, K, trans_a,
       beta, M <= 4 ? "rows alone" : "parts of >= 5 rows", cl_bf16_gemm_wins(M, N, K) ? ", cl_mat_gemm" : "");
    cl_set_threads(0);
    free(C0), free(C), free(ref);
    drop(&p);
}

int main(void) {
    printf("# bf16 kernel: %s\n", cl_bf16_simd() ? "avx512bf16" : "portable C only");
    test_round();
    test_numpy();
    static const int sh[][3] = {{1, 1, 1}, {2, 65, 3}, {4, 64, 128}, {5, 63, 129}, {6, 129, 31},
                                {7, 200, 577}, {13, 7, 64}, {64, 192, 576}, {255, 67, 95}, {600, 70, 33}};
    for (int s = 0; s < 10; s++) test_identity(sh[s][0], sh[s][1], sh[s][2], s % 3 == 2);
    for (int r = 0; r < 6; r++) test_identity(1 + (int)(rnd() % 600), 1 + (int)(rnd() % 150), 1 + (int)(rnd() % 700), r & 1);
    return t_done();
}
