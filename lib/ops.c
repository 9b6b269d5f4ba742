/* ops.c — decoder building blocks on plain float arrays (see ops.h). */
#include "ops.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_fixed.h"
#include "tensor.h"
#include "util.h"

static _Thread_local int fixed_order;

int cl_gemm_fixed_order(int on) {
    int was = fixed_order;
    fixed_order = on != 0;
    return was;
}

int cl_gemm_fixed_order_on(void) { return fixed_order; }

#ifdef CL_CUDA
#include <stdatomic.h>
#include "cuda/gemm.h"

static atomic_int gemm_device = 1;

int cl_gemm_device(int on) { return atomic_exchange(&gemm_device, on != 0); }
void cl_gemm_const(const void *p, size_t bytes) { cl_cuda_const(p, bytes); }
void cl_gemm_forget(const void *p) { cl_cuda_forget(p); }
#else
int cl_gemm_device(int on) { return 0; }
void cl_gemm_const(const void *p, size_t bytes) {}
void cl_gemm_forget(const void *p) {}
#endif

void cl_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {   /* BLAS leaves C alone for K == 0 only when beta == 1: make it explicit */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] *= beta;
        return;
    }
    if (fixed_order) {
        cl_gemm_fixed(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef CL_CUDA
    if (atomic_load(&gemm_device) && cl_cuda_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
        return;
#endif
    if (M == 1) {
        /* One row (decode): sgemv reads B once; OpenBLAS's sgemm would first copy all of it.
         * BLAS may leave y unscaled garbage * 0 = NaN: clear it when beta is 0. */
        if (beta == 0.0f) memset(C, 0, (size_t)N * sizeof *C);
        int incx = trans_a ? lda : 1;
        if (trans_b)   /* B [N, K]: y = B x */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, incx, beta, C, 1);
        else           /* B [K, N]: y = B^T x */
            cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, A, incx, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cl_linear(float *y, const float *x, const float *W, int n, int in, int out, int accumulate) {
    cl_gemm(0, 1, n, out, in, 1.0f, x, in, W, in, accumulate ? 1.0f : 0.0f, y, out);
}

void cl_lora_add(float *y, const float *x, const float *A, const float *B, int n, int in, int out,
                 int rank, float scale, float *u) {
    cl_gemm(0, 1, n, rank, in, 1.0f, x, in, A, in, 0.0f, u, rank);
    cl_gemm(0, 1, n, out, rank, scale, u, rank, B, rank, 1.0f, y, out);
}

void cl_rmsnorm(float *y, const float *x, const float *w, int n, int dim, float eps) {
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        float s = (float)(1.0 / sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++) yr[i] = xr[i] * s * w[i];
    }
}

void cl_rope_table(float *cos_t, float *sin_t, const int *pos, int n, int head_dim, float theta) {
    int half = head_dim / 2;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < half; i++) {
            double a = pos[r] * pow((double)theta, -2.0 * i / head_dim);
            cos_t[(size_t)r * half + i] = (float)cos(a);
            sin_t[(size_t)r * half + i] = (float)sin(a);
        }
}

void cl_rope_table_freq(float *cos_t, float *sin_t, const int *pos, int n, int head_dim, const double *inv,
                        float mscale) {
    int half = head_dim / 2;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < half; i++) {
            double a = pos[r] * inv[i];
            cos_t[(size_t)r * half + i] = (float)(cos(a) * mscale);
            sin_t[(size_t)r * half + i] = (float)(sin(a) * mscale);
        }
}

void cl_rope_apply(float *x, int n, int n_heads, int head_dim, const float *cos_t,
                   const float *sin_t, int interleaved) {
    int half = head_dim / 2;
    for (int r = 0; r < n; r++) {
        const float *c = cos_t + (size_t)r * half, *s = sin_t + (size_t)r * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + ((size_t)r * n_heads + h) * head_dim;
            for (int i = 0; i < half; i++) {
                int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * c[i] - x1 * s[i];
                v[b] = x0 * s[i] + x1 * c[i];
            }
        }
    }
}

void cl_rope(float *x, int n, int n_heads, int head_dim, const int *pos, float theta,
             int interleaved) {
    size_t m = (size_t)n * (head_dim / 2);
    float *c = cl_malloc(m * sizeof *c + 1), *s = cl_malloc(m * sizeof *s + 1);
    cl_rope_table(c, s, pos, n, head_dim, theta);
    cl_rope_apply(x, n, n_heads, head_dim, c, s, interleaved);
    free(c);
    free(s);
}

/* exp(x) for vectorised loops: Cephes' expf (range reduction by ln 2, degree-6 polynomial),
 * relative error ~2e-7; 0 below -87.3 (where expf underflows to denormals), capped above 88.3;
 * nan stays nan (the integer k is computed from a clamped x, never from nan: undefined behaviour).
 * Plain arithmetic so that the loops using it vectorise (libm's expf is a call per element). */
static inline float exp_approx(float x0) {
    float x = x0 > -87.3f ? x0 : -87.3f;   /* nan -> -87.3 */
    x = x < 88.3f ? x : 88.3f;
    int k = (int)(x * 1.44269504088896341f + 128.5f) - 128;   /* round(x / ln 2), floor via trunc */
    float fk = (float)k;
    float r = x - fk * 0.693359375f - fk * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (k + 127) << 23;   /* 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x0 < -87.3f ? 0.0f : x0 != x0 ? x0 : p * scale;
}

/* Vector ISA variants picked at load time (the default build targets baseline x86-64).  The
 * Makefile builds this file with -fno-trapping-math (float compares may be if-converted; we never
 * rely on floating-point exceptions) and the dynamic vectoriser cost model (-O2's "very cheap"
 * one refuses loops of unknown length). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CL_VECTOR_CLONES
#endif

/* One softmax row.  Max and sum run in 16 independent lanes (a vectorisable reduction without
 * -ffast-math), then combine. */
CL_VECTOR_CLONES
static void softmax_row(float *v, int len) {
    float m[16], acc[16];
    for (int j = 0; j < 16; j++) m[j] = -FLT_MAX, acc[j] = 0;
    int i = 0;
    for (; i + 16 <= len; i += 16)
        for (int j = 0; j < 16; j++) m[j] = v[i + j] > m[j] ? v[i + j] : m[j];
    for (; i < len; i++) m[0] = v[i] > m[0] ? v[i] : m[0];
    float mx = m[0];
    for (int j = 1; j < 16; j++) mx = m[j] > mx ? m[j] : mx;
    for (i = 0; i < len; i++) v[i] = exp_approx(v[i] - mx);
    for (i = 0; i + 16 <= len; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += v[i + j];
    for (; i < len; i++) acc[0] += v[i];
    float sum = 0;
    for (int j = 0; j < 16; j++) sum += acc[j];
    float inv = 1.0f / sum;
    for (i = 0; i < len; i++) v[i] *= inv;
}

CL_VECTOR_CLONES
void cl_swiglu(float *out, const float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + exp_approx(-g)) * up[i];
    }
}

/* gelu_tanh(g) = g * sigmoid(2 sqrt(2/pi) (g + 0.044715 g^3)), the same function written with exp. */
CL_VECTOR_CLONES
void cl_geglu(float *out, const float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) {
        float g = gate[i], u = 1.5957691216057308f * (g + 0.044715f * g * g * g);
        out[i] = g / (1.0f + exp_approx(-u)) * up[i];
    }
}

CL_VECTOR_CLONES
float cl_dot_f32(const float *x, const float *y, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[i + j] * y[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += x[i] * y[i];
    float s = 0;
    for (int j = 0; j < 16; j++) s += acc[j];
    return s;
}

void cl_softmax(float *x, int n, int len) {
    for (int r = 0; r < n; r++) softmax_row(x + (size_t)r * len, len);
}

void cl_attention(float *out, int out_stride, const float *q, int q_stride, int n_q,
                  const float *k, const float *v, int kv_stride, int n_k,
                  int n_heads, int n_kv_heads, int head_dim, int q_offset) {
    cl_attention_kv(out, out_stride, q, q_stride, n_q, k, v, CL_F32, kv_stride, n_k, n_heads, n_kv_heads, head_dim,
                    q_offset, 0, 1.0f / sqrtf((float)head_dim));
}

void cl_attention_win(float *out, int out_stride, const float *q, int q_stride, int n_q,
                      const float *k, const float *v, int kv_stride, int n_k,
                      int n_heads, int n_kv_heads, int head_dim, int q_offset, int window, float scale) {
    cl_attention_kv(out, out_stride, q, q_stride, n_q, k, v, CL_F32, kv_stride, n_k, n_heads, n_kv_heads, head_dim,
                    q_offset, window, scale);
}

/* The scan is an OR of exponent tests, a form that vectorises (an isfinite loop does not: 8x
 * slower); only a hit is located element by element. */
size_t cl_first_nonfinite(const float *x, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        bad |= (u & 0x7F800000u) == 0x7F800000u;
    }
    for (size_t i = 0; bad && i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

int cl_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
