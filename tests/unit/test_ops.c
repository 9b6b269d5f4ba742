/* test_ops.c — each op of lib/ops.c against a naive double-precision version written here
 * from the textbook definition (no code shared with ops.c). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"
#include "tensor.h"
#include "util.h"
#include "t.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static float frand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}
static float *rnd(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
/* max |a-b| / max(max|b|, tiny) */
static double relerr(const float *a, const double *b, size_t n) {
    double mx = 1e-30, d = 0;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(b[i]));
        d = fmax(d, fabs(a[i] - b[i]));
    }
    return d / mx;
}

static void test_gemm(void) {
    int M = 7, N = 5, K = 9;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* A stored [M,K] or [K,M] with padded row stride, same for B */
            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
            float *A = rnd((size_t)(ta ? K : M) * lda), *B = rnd((size_t)(tb ? N : K) * ldb);
            float *C = rnd((size_t)M * ldc);
            double ref[7 * 5];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                             (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    ref[i * N + j] = 0.5 * s + 2.0 * C[i * ldc + j];
                }
            cl_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 2.0f, C, ldc);
            float got[7 * 5];
            for (int i = 0; i < M; i++) memcpy(got + i * N, C + i * ldc, N * sizeof(float));
            OK(relerr(got, ref, (size_t)M * N) < 1e-6, "cl_gemm trans_a=%d trans_b=%d", ta, tb);
            free(A); free(B); free(C);
        }
    /* one row (the sgemv path), all four transpositions, beta 0 over NaN garbage */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = ta ? 3 : K, ldb = (tb ? K : N) + 2;
            float *A = rnd((size_t)(ta ? K * lda : K)), *B = rnd((size_t)(tb ? N : K) * ldb), C[5];
            double ref[5];
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double)(ta ? A[k * lda] : A[k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                ref[j] = 1.5 * s;
                C[j] = NAN;
            }
            cl_gemm(ta, tb, 1, N, K, 1.5f, A, lda, B, ldb, 0.0f, C, N);
            OK(relerr(C, ref, N) < 1e-6, "cl_gemm one row trans_a=%d trans_b=%d", ta, tb);
            free(A); free(B);
        }
    float c0[4] = {1, 2, 3, 4};
    cl_gemm(0, 0, 2, 2, 0, 1.0f, c0, 1, c0, 2, 0.0f, c0, 2);
    OK(c0[0] == 0 && c0[3] == 0, "cl_gemm with K=0 gives beta*C");
}

static void test_linear(void) {
    int n = 3, in = 6, out = 4;
    float *x = rnd((size_t)n * in), *W = rnd((size_t)out * in), *y = rnd((size_t)n * out);
    double ref[12];
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out; o++) {
            double s = y[r * out + o];
            for (int i = 0; i < in; i++) s += (double)x[r * in + i] * W[o * in + i];
            ref[r * out + o] = s;
        }
    cl_linear(y, x, W, n, in, out, 1);
    OK(relerr(y, ref, 12) < 1e-6, "cl_linear accumulates x W^T");
    free(x); free(W); free(y);
}

static void test_rmsnorm(void) {
    int n = 3, d = 10;
    float *x = rnd((size_t)n * d), *w = rnd(d), y[30];
    double ref[30];
    for (int r = 0; r < n; r++) {
        double ss = 0;
        for (int i = 0; i < d; i++) ss += (double)x[r * d + i] * x[r * d + i];
        double s = 1 / sqrt(ss / d + 1e-5);
        for (int i = 0; i < d; i++) ref[r * d + i] = x[r * d + i] * s * w[i];
    }
    cl_rmsnorm(y, x, w, n, d, 1e-5f);
    OK(relerr(y, ref, 30) < 1e-6, "cl_rmsnorm");
    cl_rmsnorm(x, x, w, n, d, 1e-5f);
    OK(relerr(x, ref, 30) < 1e-6, "cl_rmsnorm in place");
    free(x); free(w);
}

/* RoPE as a rotation: the pair (a, b) turns by angle pos * theta^(-2i/hd). */
static void test_rope(void) {
    int n = 4, H = 3, hd = 8, pos[4] = {0, 1, 7, 300};
    float theta = 10000.0f;
    for (int inter = 0; inter < 2; inter++) {
        float *x = rnd((size_t)n * H * hd);
        double ref[4 * 3 * 8];
        for (int r = 0; r < n; r++)
            for (int h = 0; h < H; h++) {
                const float *v = x + (r * H + h) * hd;
                double *o = ref + (r * H + h) * hd;
                for (int i = 0; i < hd / 2; i++) {
                    int a = inter ? 2 * i : i, b = inter ? 2 * i + 1 : i + hd / 2;
                    double ang = pos[r] / pow(theta, 2.0 * i / hd);
                    o[a] = v[a] * cos(ang) - v[b] * sin(ang);
                    o[b] = v[a] * sin(ang) + v[b] * cos(ang);
                }
            }
        cl_rope(x, n, H, hd, pos, theta, inter);
        OK(relerr(x, ref, (size_t)n * H * hd) < 1e-6, "cl_rope %s", inter ? "interleaved" : "rotate-half");
        free(x);
    }
}

/* Naive causal GQA attention, one query at a time, in double. */
static void naive_attention(double *out, const float *q, int n_q, const float *k, const float *v,
                            int n_k, int H, int KV, int hd, int q_off) {
    double *s = malloc((size_t)n_k * sizeof *s);
    for (int i = 0; i < n_q; i++)
        for (int h = 0; h < H; h++) {
            int g = h / (H / KV), vis = q_off + i + 1;
            if (vis > n_k) vis = n_k;
            double mx = -1e300, sum = 0;
            for (int j = 0; j < vis; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++)
                    d += (double)q[(i * H + h) * hd + e] * k[(j * KV + g) * hd + e];
                s[j] = d / sqrt(hd);
                mx = fmax(mx, s[j]);
            }
            for (int j = 0; j < vis; j++) sum += s[j] = exp(s[j] - mx);
            for (int e = 0; e < hd; e++) {
                double o = 0;
                for (int j = 0; j < vis; j++) o += s[j] / sum * v[(j * KV + g) * hd + e];
                out[(i * H + h) * hd + e] = o;
            }
        }
    free(s);
}

static void test_attention(void) {
    struct { int n_q, n_k, H, KV, hd, off; } c[] = {
        {5, 5, 4, 4, 8, 0},        /* MHA, prefill */
        {6, 6, 6, 2, 4, 0},        /* GQA group 3 */
        {1, 9, 4, 2, 8, 8},        /* decode step after 8 cached */
        {3, 10, 8, 4, 16, 7},      /* chunk continuing a cache */
        {300, 300, 4, 1, 8, 0},    /* more rows than one block (MQA: 256/4 = 64 per block) */
        {600, 600, 2, 2, 4, 0},    /* several blocks of 256 */
        {40, 700, 4, 2, 16, 660},  /* a chunk after 660 cached: key tiles of 256, the last partly masked */
        {300, 1000, 6, 2, 8, 700}, /* blocks x tiles, GQA */
    };
    for (size_t t = 0; t < sizeof c / sizeof c[0]; t++) {
        int qd = c[t].H * c[t].hd, kvd = c[t].KV * c[t].hd;
        float *q = rnd((size_t)c[t].n_q * qd), *k = rnd((size_t)c[t].n_k * kvd);
        float *v = rnd((size_t)c[t].n_k * kvd), *o = rnd((size_t)c[t].n_q * qd);
        double *ref = malloc((size_t)c[t].n_q * qd * sizeof *ref);
        for (size_t i = 0; i < (size_t)c[t].n_q * qd; i++) q[i] *= 3;   /* peakier softmax */
        naive_attention(ref, q, c[t].n_q, k, v, c[t].n_k, c[t].H, c[t].KV, c[t].hd, c[t].off);
        cl_attention(o, qd, q, qd, c[t].n_q, k, v, kvd, c[t].n_k, c[t].H, c[t].KV, c[t].hd, c[t].off);
        double e = relerr(o, ref, (size_t)c[t].n_q * qd);
        OK(e < 1e-5, "cl_attention n_q=%d n_k=%d H=%d KV=%d hd=%d offset=%d (rel err %.2g)", c[t].n_q,
           c[t].n_k, c[t].H, c[t].KV, c[t].hd, c[t].off, e);
        free(q); free(k); free(v); free(o); free(ref);
    }
}

/* Decode attention from a 16-bit cache (cl_attention_kv with two query rows): against the naive attention of the
 * f16 values, and the same bits on 1 and 2 threads (the kv heads are split over the pool). */
static void test_attention_few(void) {
    int n_q = 2, n_k = 520, H = 6, KV = 3, hd = 64, off = n_k - n_q, qd = H * hd, kvd = KV * hd;
    float *q = rnd((size_t)n_q * qd), *k = rnd((size_t)n_k * kvd), *v = rnd((size_t)n_k * kvd);
    uint16_t *k16 = malloc((size_t)n_k * kvd * 2), *v16 = malloc((size_t)n_k * kvd * 2);
    for (size_t i = 0; i < (size_t)n_k * kvd; i++) {
        k16[i] = cl_f32_to_f16(k[i]), v16[i] = cl_f32_to_f16(v[i]);
        k[i] = cl_f16_to_f32(k16[i]), v[i] = cl_f16_to_f32(v16[i]);
    }
    for (size_t i = 0; i < (size_t)n_q * qd; i++) q[i] *= 3;
    double *ref = malloc((size_t)n_q * qd * sizeof *ref);
    float *o1 = malloc((size_t)n_q * qd * sizeof *o1), *o2 = malloc((size_t)n_q * qd * sizeof *o2);
    naive_attention(ref, q, n_q, k, v, n_k, H, KV, hd, off);
    cl_set_threads(1);
    cl_attention_kv(o1, qd, q, qd, n_q, k16, v16, CL_F16, kvd, n_k, H, KV, hd, off, 0, 1.0f / sqrtf((float)hd));
    cl_set_threads(2);
    cl_attention_kv(o2, qd, q, qd, n_q, k16, v16, CL_F16, kvd, n_k, H, KV, hd, off, 0, 1.0f / sqrtf((float)hd));
    cl_set_threads(0);
    double e = relerr(o1, ref, (size_t)n_q * qd);
    OK(e < 1e-5 && !memcmp(o1, o2, (size_t)n_q * qd * sizeof *o1),
       "cl_attention_kv decode, f16 cache n_k=%d H=%d KV=%d: rel err %.2g, threads 1 and 2 the same bits", n_k, H, KV, e);
    free(q); free(k); free(v); free(k16); free(v16); free(ref); free(o1); free(o2);
}

static void test_small(void) {
    float x[6] = {1, 2, 3, -1, 0, 1000};
    cl_softmax(x, 2, 3);
    double e = exp(1.0), s = 1 + e + e * e;
    OK(fabs(x[0] - 1 / s) < 1e-7 && fabs(x[2] - e * e / s) < 1e-7, "cl_softmax row 0");
    OK(x[5] == 1.0f && x[3] == 0.0f, "cl_softmax does not overflow on large values");
    float g[3] = {-2, 0, 3}, u[3] = {1, 5, 2}, o[3];
    cl_swiglu(o, g, u, 3);
    OK(fabs(o[0] - (-2 / (1 + exp(2.0)))) < 1e-6 && o[1] == 0 && fabs(o[2] - 2 * 3 / (1 + exp(-3.0))) < 1e-6,
       "cl_swiglu = silu(gate) * up");
    float a[5] = {1, 7, 3, 7, -2};
    OK(cl_argmax(a, 5) == 1, "cl_argmax returns the first maximum");
    /* nan and inf gates (an overflowed activation) come out nan / as the limits, with no
     * undefined float-to-int conversion inside the exp (check-asan runs this) */
    float gn[4] = {NAN, INFINITY, -INFINITY, 1e30f}, un[4] = {1, 1, 1, 1}, on[4];
    cl_swiglu(on, gn, un, 4);
    OK(isnan(on[0]) && isinf(on[1]) && on[1] > 0 && (on[2] == 0 || !isfinite(on[2])) && on[3] == 1e30f,
       "cl_swiglu: nan gate -> nan, +inf -> inf, -inf -> 0 or not finite (the exp is capped), 1e30 -> 1e30 (%g %g %g %g)", on[0], on[1], on[2], on[3]);
}

int main(void) {
    test_gemm();
    test_linear();
    test_rmsnorm();
    test_rope();
    test_attention();
    test_attention_few();
    test_small();
    return t_done();
}
