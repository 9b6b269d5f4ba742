/* ops.c — decoder building blocks on plain float arrays (see ops.h). */
#include "ops.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_fixed.h"
#include "mat_kern.h"
#include "pool.h"
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
 * relative error ~2e-7; 0 below -87.3 (where expf underflows to denormals), capped above 88.3.
 * Plain arithmetic so that the loops using it vectorise (libm's expf is a call per element). */
static inline float exp_approx(float x0) {
    float x = x0 < -87.3f ? -87.3f : x0 > 88.3f ? 88.3f : x0;
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
    return x0 < -87.3f ? 0.0f : p * scale;
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

/* out[0..hd) = sum_j p_j v_j over n rows of v (stride kv_stride): the vectorised axpy of the
 * few-query path. */
CL_VECTOR_CLONES
static void weighted_rows(float *out, const float *p, const float *v, int n, int kv_stride, int hd) {
    for (int i = 0; i < hd; i++) out[i] = 0;
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * kv_stride, pj = p[j];
        for (int i = 0; i < hd; i++) out[i] += pj * vj[i];
    }
}

/* Few queries (decode): per query row and head, scores by dot products, softmax, weighted sum
 * of values; no BLAS call, so a decode step that streams the weights on our own threads (mat.c)
 * does not wake OpenBLAS's.  K and V rows are f32, f16 or bf16 (kv_stride in elements); the
 * 16-bit ones are read through the row kernels of mat_kern.c, or converted a row at a time (the
 * value rows once per kv head, for all the query heads that share it).  The kv heads are split
 * over the pool's threads (pool.h); each head's arithmetic is the same whatever the split. */
typedef struct {
    float *out;
    const float *q;
    const void *k, *v;
    int out_stride, q_stride, n_q, kv_dtype, kv_stride, n_k, group, head_dim, q_offset;
} few_job;

static void attention_few_heads(void *vj, int g0, int g1) {
    const few_job *J = vj;
    int hd = J->head_dim, kv_dtype = J->kv_dtype;
    size_t esz = kv_dtype == CL_F32 ? 4 : 2;
    float scale = 1.0f / sqrtf((float)hd);
    cl_row_dot dot = kv_dtype == CL_F32 ? NULL : cl_row_dot_for((cl_dtype)kv_dtype);
    float *sc = cl_malloc((size_t)J->n_k * sizeof *sc + 1), *row = cl_malloc((size_t)hd * sizeof *row);
    float *vf = kv_dtype == CL_F32 ? NULL : cl_malloc((size_t)J->n_k * hd * sizeof *vf + 1);
    for (int g = g0; g < g1; g++) {
        const uint8_t *kh = (const uint8_t *)J->k + (size_t)g * hd * esz;
        const uint8_t *vh = (const uint8_t *)J->v + (size_t)g * hd * esz;
        int converted = 0;   /* value rows of this kv head in vf */
        for (int i = 0; i < J->n_q; i++) {
            int vis = J->q_offset + i + 1 < J->n_k ? J->q_offset + i + 1 : J->n_k;
            for (int h = g * J->group; h < (g + 1) * J->group; h++) {
                const float *qh = J->q + (size_t)i * J->q_stride + (size_t)h * hd;
                for (int j = 0; j < vis; j++) {
                    const void *kj = kh + (size_t)j * J->kv_stride * esz;
                    if (kv_dtype == CL_F32) {
                        sc[j] = cl_dot_f32(qh, kj, hd) * scale;
                    } else if (dot) {
                        sc[j] = dot(kj, qh, hd) * scale;
                    } else {
                        cl_convert_to_f32((cl_dtype)kv_dtype, kj, 0, hd, row);
                        sc[j] = cl_dot_f32(qh, row, hd) * scale;
                    }
                }
                cl_softmax(sc, 1, vis);
                float *o = J->out + (size_t)i * J->out_stride + (size_t)h * hd;
                if (kv_dtype == CL_F32) {
                    weighted_rows(o, sc, (const float *)vh, vis, J->kv_stride, hd);
                } else {   /* this head's value rows in f32, then the same weighted sum */
                    for (; converted < vis; converted++)
                        cl_convert_to_f32((cl_dtype)kv_dtype, vh + (size_t)converted * J->kv_stride * esz, 0, hd,
                                          vf + (size_t)converted * hd);
                    weighted_rows(o, sc, vf, vis, hd, hd);
                }
            }
        }
    }
    free(sc);
    free(row);
    free(vf);
}

void cl_attention_few(float *out, int out_stride, const float *q, int q_stride, int n_q, const void *k,
                      const void *v, int kv_dtype, int kv_stride, int n_k, int n_heads, int n_kv_heads,
                      int head_dim, int q_offset) {
    few_job J = {out, q, k, v, out_stride, q_stride, n_q, kv_dtype, kv_stride, n_k, n_heads / n_kv_heads,
                 head_dim, q_offset};
    /* threads once each kv head reads ~32 KiB or more of 16-bit cache */
    int grain = (size_t)n_k * head_dim >= 16384 ? 1 : n_kv_heads;
    cl_parallel_for(n_kv_heads, grain, attention_few_heads, &J);
}

void cl_softmax(float *x, int n, int len) {
    for (int r = 0; r < n; r++) softmax_row(x + (size_t)r * len, len);
}

/* Queries per block and kv group: bounds the score scratch to ATT_ROWS * n_k floats. */
enum { ATT_ROWS = 256 };

void cl_attention(float *out, int out_stride, const float *q, int q_stride, int n_q,
                  const float *k, const float *v, int kv_stride, int n_k,
                  int n_heads, int n_kv_heads, int head_dim, int q_offset) {
    cl_attention_win(out, out_stride, q, q_stride, n_q, k, v, kv_stride, n_k, n_heads, n_kv_heads, head_dim,
                     q_offset, 0, 1.0f / sqrtf((float)head_dim));
}

void cl_attention_win(float *out, int out_stride, const float *q, int q_stride, int n_q,
                      const float *k, const float *v, int kv_stride, int n_k,
                      int n_heads, int n_kv_heads, int head_dim, int q_offset, int window, float scale) {
    if (n_q <= 0) return;
    if (n_q <= 4 && window <= 0 && scale == 1.0f / sqrtf((float)head_dim)) {   /* decode: no BLAS call */
        cl_attention_few(out, out_stride, q, q_stride, n_q, k, v, CL_F32, kv_stride, n_k, n_heads, n_kv_heads,
                         head_dim, q_offset);
        return;
    }
    int group = n_heads / n_kv_heads;
    int nb_max = ATT_ROWS / group > 0 ? ATT_ROWS / group : 1;
    if (nb_max > n_q) nb_max = n_q;
    int rows_max = nb_max * group;
    /* The heads of one kv group share K and V: gather their query rows into one matrix so
     * K and V are read once per group (decode is bound by reading the cache). */
    float *qg = cl_malloc((size_t)rows_max * head_dim * sizeof *qg);
    float *og = cl_malloc((size_t)rows_max * head_dim * sizeof *og);
    /* a block's rows see at most window + nb_max - 1 keys */
    size_t span = window > 0 && window + nb_max - 1 < n_k ? (size_t)(window + nb_max - 1) : (size_t)n_k;
    float *sc = cl_malloc((size_t)rows_max * span * sizeof *sc);
    for (int g = 0; g < n_kv_heads; g++) {
        const float *kh = k + (size_t)g * head_dim, *vh = v + (size_t)g * head_dim;
        for (int i0 = 0; i0 < n_q; i0 += nb_max) {
            int nb = n_q - i0 < nb_max ? n_q - i0 : nb_max;
            int k1 = q_offset + i0 + nb;   /* keys visible to the block's last row: < k1 */
            if (k1 > n_k) k1 = n_k;
            int k0 = window > 0 && q_offset + i0 - window + 1 > 0 ? q_offset + i0 - window + 1 : 0;
            int nk = k1 - k0;              /* score columns: keys k0 .. k1-1 */
            int rows = nb * group;
            /* row gi*nb + r of qg = head (g*group + gi), query i0 + r */
            for (int gi = 0; gi < group; gi++)
                for (int r = 0; r < nb; r++)
                    memcpy(qg + ((size_t)gi * nb + r) * head_dim,
                           q + (size_t)(i0 + r) * q_stride + (size_t)(g * group + gi) * head_dim,
                           head_dim * sizeof *qg);
            cl_gemm(0, 1, rows, nk, head_dim, scale, qg, head_dim, kh + (size_t)k0 * kv_stride, kv_stride, 0.0f, sc, nk);
            for (int gi = 0; gi < group; gi++)
                for (int r = 0; r < nb; r++) {
                    float *row = sc + ((size_t)gi * nb + r) * nk;
                    int p = q_offset + i0 + r;   /* this query's key position */
                    int lo = window > 0 && p - window + 1 > k0 ? p - window + 1 - k0 : 0;
                    int hi = p + 1 - k0 < nk ? p + 1 - k0 : nk;   /* columns lo .. hi-1 visible */
                    memset(row, 0, (size_t)lo * sizeof *row);
                    cl_softmax(row + lo, 1, hi - lo);
                    memset(row + hi, 0, (size_t)(nk - hi) * sizeof *row);
                }
            cl_gemm(0, 0, rows, head_dim, nk, 1.0f, sc, nk, vh + (size_t)k0 * kv_stride, kv_stride, 0.0f, og, head_dim);
            for (int gi = 0; gi < group; gi++)
                for (int r = 0; r < nb; r++)
                    memcpy(out + (size_t)(i0 + r) * out_stride + (size_t)(g * group + gi) * head_dim,
                           og + ((size_t)gi * nb + r) * head_dim, head_dim * sizeof *og);
        }
    }
    free(qg);
    free(og);
    free(sc);
}

int cl_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
