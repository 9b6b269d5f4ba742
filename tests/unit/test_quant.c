/* test_quant.c — GGML block formats (lib/quant.c) and products with stored-dtype weights
 * (lib/mat.c):
 *  - known blocks decode to hand-computed values;
 *  - random blocks decode bit for bit as the independent numpy decoder tests/ref/ref_dequant.py;
 *  - quantise/dequantise round trips stay within the grid's half step;
 *  - cl_mat_gemm in both orientations, decode (few rows) and panel paths, equals the product with
 *    the dequantised f32 matrix within 1e-5 of sum |a||w| per entry (summation order differs),
 *    with the integer products (on by default for quantised W^T, test_quant_q8.c) turned off;
 *    bf16 weights in the Linear orientation multiply bf16-rounded activations (mat_bf16.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mat.h"
#include "mat_bf16.h"
#include "mat_kern.h"
#include "ops.h"
#include "quant.h"
#include "t.h"
#include "util.h"

#include "t_rng.h"

static const cl_dtype QT[] = {CL_Q4_0, CL_Q8_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
enum { NQT = sizeof QT / sizeof QT[0] };

static void put16(uint8_t *p, uint16_t h) { p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8); }

/* Byte offsets of the f16 scales of a block (-1: none). */
static void scale_offsets(cl_dtype t, int *a, int *b) {
    *a = t == CL_Q6_K ? 208 : 0;
    *b = t == CL_Q4_K || t == CL_Q5_K ? 2 : -1;
}

static void test_known(void) {
    uint8_t b[210];
    float y[256];
    /* q4_0: d = 0.5, byte j = (j % 16) | (15 - j % 16) << 4 */
    put16(b, cl_f32_to_f16(0.5f));
    for (int j = 0; j < 16; j++) b[2 + j] = (uint8_t)(j | (15 - j) << 4);
    cl_dequant_blocks(CL_Q4_0, b, 1, y);
    int ok = 1;
    for (int j = 0; j < 16; j++) ok &= y[j] == (j - 8) * 0.5f && y[16 + j] == (7 - j) * 0.5f;
    OK(ok, "q4_0 known block: (q - 8) d, low nibbles first half, high nibbles second");

    /* q4_K: d = 1, dmin = 0.25; sub-block j scale j+1, min 2j (high bits exercised for j >= 4
     * through scale 63 at j = 7 and min 40 at j = 5), all nibbles lo = 3, hi = 12 */
    memset(b, 0, sizeof b);
    put16(b, cl_f32_to_f16(1.0f));
    put16(b + 2, cl_f32_to_f16(0.25f));
    int sc[8] = {1, 2, 3, 4, 5, 6, 7, 63}, mn[8] = {0, 2, 4, 6, 8, 40, 12, 14};
    uint8_t *s = b + 4;
    for (int j = 0; j < 4; j++) s[j] = (uint8_t)sc[j], s[j + 4] = (uint8_t)mn[j];
    for (int j = 4; j < 8; j++) {
        s[j + 4] = (uint8_t)((sc[j] & 15) | (mn[j] & 15) << 4);
        s[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
        s[j] |= (uint8_t)((mn[j] >> 4) << 6);
    }
    memset(b + 16, 3 | 12 << 4, 128);
    cl_dequant_blocks(CL_Q4_K, b, 1, y);
    ok = 1;
    for (int e = 0; e < 256; e++) {
        int j = e / 32, q = j % 2 ? 12 : 3;
        ok &= y[e] == (float)sc[j] * (float)q - 0.25f * (float)mn[j];
    }
    OK(ok, "q4_K known block: 6-bit scales/mins incl. high bits, low nibbles = even sub-blocks");

    /* q5_K: same scales, qh bit 2c of byte l set for l even: element 64c+l gets +16 */
    uint8_t b5[176];
    memcpy(b5, b, 16);
    for (int l = 0; l < 32; l++) b5[16 + l] = l % 2 ? 0 : 0x55;
    memset(b5 + 48, 3 | 12 << 4, 128);
    cl_dequant_blocks(CL_Q5_K, b5, 1, y);
    ok = 1;
    for (int e = 0; e < 256; e++) {
        int j = e / 32, l = e % 32, q = (j % 2 ? 12 : 3) + (j % 2 == 0 && l % 2 == 0 ? 16 : 0);
        ok &= y[e] == (float)sc[j] * (float)q - 0.25f * (float)mn[j];
    }
    OK(ok, "q5_K known block: the fifth bit from qh");

    /* q6_K: d = 0.5, scale of sub-block j = j - 8, every element 6-bit value 33 (x = 1 * ...) */
    memset(b, 0, sizeof b);
    for (int i = 0; i < 128; i++) b[i] = 1 | 1 << 4;          /* low nibbles 1 */
    for (int i = 0; i < 64; i++) b[128 + i] = 2 | 2 << 2 | 2 << 4 | 2 << 6;   /* high pairs 2: +32 */
    for (int j = 0; j < 16; j++) b[192 + j] = (uint8_t)(int8_t)(j - 8);
    put16(b + 208, cl_f32_to_f16(0.5f));
    cl_dequant_blocks(CL_Q6_K, b, 1, y);
    ok = 1;
    for (int e = 0; e < 256; e++) ok &= y[e] == 0.5f * (float)(e / 16 - 8) * 1.0f;
    OK(ok, "q6_K known block: (d sc) (q - 32), signed scales per 16");
}

/* Random blocks (finite f16 scales), decoded here and by tests/ref/ref_dequant.py. */
static void test_vs_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        SKIP("/usr/bin/python3 with numpy not available: no reference decoder");
        return;
    }
    for (int k = 0; k < NQT; k++) {
        cl_dtype t = QT[k];
        int be = cl_dtype_block(t), bs = cl_dtype_block_bytes(t), nb = 97;
        uint8_t *raw = cl_malloc((size_t)nb * bs);
        for (int i = 0; i < nb * bs; i++) raw[i] = (uint8_t)rnd();
        int a, b;
        scale_offsets(t, &a, &b);
        for (int i = 0; i < nb; i++) {   /* scales: random sign/size incl. subnormals, never inf/nan */
            put16(raw + (size_t)i * bs + a, cl_f32_to_f16(ldexpf(urand(), -(int)(rnd() % 28))));
            if (b >= 0) put16(raw + (size_t)i * bs + b, cl_f32_to_f16(ldexpf(urand(), -(int)(rnd() % 28))));
        }
        float *ours = cl_malloc((size_t)nb * be * sizeof *ours), *part = cl_malloc(100 * sizeof *part);
        cl_dequant_blocks(t, raw, nb, ours);
        char in[4096], out[4096], cmd[8400];
        snprintf(in, sizeof in, "%s", t_tmp("quant_in.bin"));
        snprintf(out, sizeof out, "%s", t_tmp("quant_out.f32"));
        FILE *f = fopen(in, "wb");
        int wrote = f && fwrite(raw, 1, (size_t)nb * bs, f) == (size_t)nb * bs;
        if (f) fclose(f);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/ref_dequant.py %d %s %s", (int)t, in, out);
        char *ref = NULL;
        size_t rl = 0;
        int ok = wrote && system(cmd) == 0 && cl_read_file(out, &ref, &rl) == 0 && rl == (size_t)nb * be * 4;
        size_t bad = 0;
        for (size_t i = 0; ok && i < (size_t)nb * be; i++) bad += memcmp(ours + i, ref + 4 * i, 4) != 0;
        OK(ok && !bad, "%s: %d random blocks decode bit for bit as numpy (%zu differ)", cl_dtype_name(t), nb, bad);
        /* a window across block boundaries through cl_convert_to_f32 */
        int64_t first = be + be / 2 + 3;
        cl_convert_to_f32(t, raw, first, 100, part);
        OK(!memcmp(part, ours + first, 100 * sizeof *part), "%s: conversion from an offset inside a block", cl_dtype_name(t));
        free(ref); free(raw); free(ours); free(part);
    }
}

/* Round trip of smooth random data: error per element within half a grid step plus the scale's
 * own f16/6-bit rounding, checked as: rms error / rms value below the format's bound. */
static void test_roundtrip(void) {
    static const double bound[NQT] = {0.12, 0.01, 0.1, 0.05, 0.03};
    int n = 4096;
    float *x = cl_malloc((size_t)n * sizeof *x), *y = cl_malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n; i++) x[i] = urand() * (1.0f + (float)(i / 256));
    for (int k = 0; k < NQT; k++) {
        cl_dtype t = QT[k];
        void *q = cl_malloc((size_t)cl_dtype_bytes(t, n));
        cl_quantize(t, x, n, q);
        cl_convert_to_f32(t, q, 0, n, y);
        double e = 0, v = 0;
        for (int i = 0; i < n; i++) e += (double)(x[i] - y[i]) * (x[i] - y[i]), v += (double)x[i] * x[i];
        OK(sqrt(e / v) < bound[k], "%s round trip: relative rms error %.3g < %.3g", cl_dtype_name(t), sqrt(e / v), bound[k]);
        free(q);
    }
    OK(cl_dtype_bytes(CL_Q4_K, 512) == 288 && cl_dtype_bytes(CL_Q6_K, 256) == 210 && cl_dtype_bytes(CL_Q5_K, 128) < 0 &&
           cl_dtype_bytes(CL_Q4_0, 64) == 36,
       "block sizes: q4_K 144, q6_K 210 bytes per 256; partial k-quant blocks refused");
    free(x); free(y);
}

static double bf16_value(float f) {
    uint32_t u = (uint32_t)cl_bf16_round(f) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

/* C = alpha op(A) op(W) + beta C against the same with the dequantised f32 W. */
static void check_gemm(cl_dtype t, int trans_a, int trans_w, int M, int N, int K) {
    int wr = trans_w ? N : K, wc = trans_w ? K : N;
    float *wf = cl_malloc((size_t)wr * wc * sizeof *wf);
    for (int i = 0; i < wr * wc; i++) wf[i] = urand();
    void *wq = cl_malloc((size_t)cl_dtype_bytes(t, (int64_t)wr * wc) + 1);
    if (t == CL_F16 || t == CL_BF16) {
        uint16_t *h = wq;
        for (int i = 0; i < wr * wc; i++) h[i] = t == CL_F16 ? cl_f32_to_f16(wf[i]) : cl_f32_to_bf16(wf[i]);
    } else if (t != CL_F32) {
        cl_quantize(t, wf, (int64_t)wr * wc, wq);
    } else {
        memcpy(wq, wf, (size_t)wr * wc * sizeof *wf);
    }
    cl_convert_to_f32(t, wq, 0, (int64_t)wr * wc, wf);   /* the exact dequantised matrix */
    cl_mat W;
    int vr = cl_mat_view(&W, t, wq, wr, wc);
    int ar = trans_a ? K : M, ac = trans_a ? M : K, lda = ac + 3;
    float *A = cl_malloc((size_t)ar * lda * sizeof *A);
    for (int i = 0; i < ar * lda; i++) A[i] = urand();
    int ldc = N + 2;
    float *C = cl_malloc((size_t)M * ldc * sizeof *C), *R = cl_malloc((size_t)M * ldc * sizeof *R);
    for (int i = 0; i < M * ldc; i++) C[i] = R[i] = urand();
    float alpha = 0.75f, beta = 0.5f;
    cl_mat_gemm(trans_a, trans_w, M, N, K, alpha, A, lda, &W, beta, C, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                if (t == CL_BF16 && trans_w) a = bf16_value((float)a);   /* activations rounded (mat_bf16.h) */
                double w = trans_w ? wf[(size_t)j * wc + k] : wf[(size_t)k * wc + j];
                s += a * w, mag += fabs(a * w);
            }
            double want = alpha * s + beta * R[(size_t)i * ldc + j];
            worst = fmax(worst, fabs(C[(size_t)i * ldc + j] - want) / (mag + 1));
        }
    OK(vr == 0 && worst < 1e-5, "%s gemm trans_a %d trans_w %d M %d N %d K %d: error %.2g of sum|a w| (< 1e-5)",
       cl_dtype_name(t), trans_a, trans_w, M, N, K, worst);
    free(wf); free(wq); free(A); free(C); free(R);
}

static void test_gemm(void) {
    cl_mat_int8(0);   /* the f32 paths; the integer ones are test_quant_q8's */
    static const cl_dtype all[] = {CL_F32, CL_F16, CL_BF16, CL_Q4_0, CL_Q8_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
        int K = cl_dtype_block(all[k]) == 256 ? 512 : 96;
        check_gemm(all[k], 0, 1, 1, 37, K);    /* decode: one row streams W */
        check_gemm(all[k], 1, 1, 3, 41, K);    /* a few rows, A transposed */
        check_gemm(all[k], 0, 1, 29, 300, K);  /* prefill: panels of W in f32 */
        check_gemm(all[k], 0, 0, 7, K, 300);   /* backward orientation: dx = dy W, W [K=300, N] */
        check_gemm(all[k], 1, 0, 2, K, 45);
    }
    /* 16-bit float rows of odd length: every kernel's 32-, 8- and 1-element tails */
    check_gemm(CL_F16, 0, 1, 2, 33, 77);
    check_gemm(CL_BF16, 1, 1, 4, 35, 1003);
    /* more rows than one panel (2^20 floats = 2048 rows of 512), both orientations */
    check_gemm(CL_Q4_K, 0, 1, 5, 2100, 512);
    check_gemm(CL_BF16, 1, 0, 6, 512, 2100);
    /* a row of a matrix and a 1-row linear */
    float x[256], w[2 * 256], y[2], r[256];
    for (int i = 0; i < 512; i++) w[i] = urand();
    for (int i = 0; i < 256; i++) x[i] = urand();
    uint8_t q[2 * 210];
    cl_quantize(CL_Q6_K, w, 512, q);
    cl_mat W;
    cl_mat_view(&W, CL_Q6_K, q, 2, 256);
    cl_mat_row(&W, 1, r);
    float full[512];
    cl_convert_to_f32(CL_Q6_K, q, 0, 512, full);
    cl_mat_linear(y, x, &W, 1, 0);
    OK(!memcmp(r, full + 256, sizeof r) && fabsf(y[1] - cl_dot_f32(x, full + 256, 256)) < 1e-5f,
       "cl_mat_row is row r of the dequantised matrix; a 1-row linear is its dot product");
    OK(cl_mat_view(&W, CL_Q4_K, q, 1, 100) < 0, "a k-quant view with rows of 100 is refused");
}

/* the 46 gemm checks again in a child with CL_KERNELS=family (the kernels a CPU without AVX-512,
 * or without any vector extension, runs) */
static void rerun(const char *argv0, const char *family) {
    char cmd[4200], want[64];
    snprintf(cmd, sizeof cmd, "CL_KERNELS=%s %s --gemm > %s", family, argv0, t_tmp("quant_family.tap"));
    snprintf(want, sizeof want, "# row kernels: %s\n", family);
    char *out = NULL;
    size_t n = 0;
    int rc = system(cmd);
    int ok = rc == 0 && cl_read_file(t_tmp("quant_family.tap"), &out, &n) == 0 && strstr(out, "\n1..46") &&
             !strstr(out, "not ok");
    if (ok && !strstr(out, want)) SKIP_CPU("CL_KERNELS=%s: this CPU lacks that kernel family", family);
    else OK(ok, "the same 46 gemm checks with CL_KERNELS=%s (exit %d)", family, rc);
    free(out);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--gemm")) {   /* the re-run below */
        printf("# row kernels: %s\n", cl_row_dot_isa());
        test_gemm();
        return t_done();
    }
    test_known();
    test_vs_numpy();
    test_roundtrip();
    printf("# row kernels: %s\n", cl_row_dot_isa());
    test_gemm();
    /* the AVX2 and portable kernels too, where this CPU picked others */
    if (!strncmp(cl_row_dot_isa(), "avx512", 6)) rerun(argv[0], "avx2");
    if (strcmp(cl_row_dot_isa(), "generic")) rerun(argv[0], "generic");
    return t_done();
}
