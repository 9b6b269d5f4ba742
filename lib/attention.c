/* attention.c — blocked (flash-style) causal attention over a KV cache in its stored type (ops.h:
 * cl_attention_kv).
 *
 * Work: one task per (kv group, block of query rows); the heads of a group share K and V, so a
 * task's rows are (head, query) pairs of the group.  A task walks the key blocks its rows can see,
 * in ascending order; each key block (BK keys, aligned to absolute key positions) is converted once
 * from the cache's type into f32 scratch (K transposed) and used by every row of the task.  Per row
 * an online softmax keeps the running max m, the running sum l and the unnormalised output o:
 *     s_j = dot(q * scale, k_j)                      (one fma chain over d = 0 .. hd-1)
 *     m' = max(m, max_j visible s_j);  a = exp(m - m');  p_j = exp(s_j - m') (0 when not visible)
 *     l = l a + sum_j p_j   (16 lanes j mod 16, then a fixed tree)
 *     o = fma chain over j of p_j v_j, starting from o a;   finally out = o / l.
 * Scratch is O(rows x (BK + hd)) per task, never n_q x n_k.  A task of at most 4 rows (decode:
 * one query per head of the group) converts nothing into scratch: each 16 keys x 16 dims piece is
 * transposed in registers and used at once, and value rows are converted as they are loaded
 * (scores_direct, values_avx512_rows): the same operations as with scratch.
 *
 * Determinism: a row's arithmetic depends only on its own query, the keys it sees and the fixed
 * block grid: never on the other rows of its task, the task split, the thread count, how a prompt
 * was cut into chunks (q_offset) or the instruction set.  A block with no visible key leaves a row's
 * state exactly unchanged (a = exp(0) = 1, p = 0), so tasks may start or end at different blocks.
 * The AVX-512 kernels and the portable ones perform the same IEEE operations (fmaf), so they give
 * identical bits; the portable ones are slow without hardware FMA. */
#include "ops.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "tensor.h"
#include "util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define CL_X86 1
#endif

enum {
    BK = 64,        /* keys per block (4 vectors of 16) */
    ROWS = 32768,   /* (head, query) rows per task x (head_dim + 128), about: the scratch stays
                       ~200 KiB, and small heads get more rows to share each converted key block */
};

typedef struct {
    float *out;
    int out_stride;
    const float *q;
    int q_stride, n_q;
    const uint8_t *k, *v;
    cl_dtype dtype;
    size_t esz;
    int kv_stride, n_k, n_heads, n_kv_heads, hd, q_offset, window;
    float scale;
    int nb, n_qb;   /* query rows per task, query blocks */
    int simd;       /* use the AVX-512 kernels */
} att_job;

/* Per-task scratch. */
typedef struct {
    float *qs;      /* [rows][hd] queries times scale */
    float *kt;      /* [hd][BK] the key block, transposed */
    float *vf;      /* [BK][hd] the value block in f32 (unused for an f32 cache: read in place) */
    float *s;       /* [rows][BK] scores, then probabilities */
    float *o;       /* [rows][hd] unnormalised outputs */
    float *m, *l, *a, *mnew, *sum;   /* per row: max, sum, rescale factor; the block's new max and sum */
    int *lo, *hi;   /* each row's visible keys: lo .. hi-1 */
} att_scratch;

/* ---- conversion of a key block: rows kb0 .. kb0+nk-1 of one kv head ---- */

static void row_to_f32(const att_job *J, const uint8_t *src, float *dst) {
    if (J->dtype == CL_F32) memcpy(dst, src, (size_t)J->hd * sizeof *dst);
    else cl_convert_to_f32(J->dtype, src, 0, J->hd, dst);
}

/* kt[d][j] = K[kb0 + j][d] for j < nk, 0 beyond (the scores of absent keys are masked anyway,
 * but stay finite). */
static void keys_portable(const att_job *J, const uint8_t *kh, int kb0, int nk, float *kt, float *tmp) {
    for (int j = 0; j < BK; j++) {
        if (j < nk) row_to_f32(J, kh + (size_t)(kb0 + j) * J->kv_stride * J->esz, tmp);
        for (int d = 0; d < J->hd; d++) kt[(size_t)d * BK + j] = j < nk ? tmp[d] : 0.0f;
    }
}

static void values_to_f32(const att_job *J, const uint8_t *vh, int kb0, int nk, float *vf) {
    for (int j = 0; j < nk; j++) row_to_f32(J, vh + (size_t)(kb0 + j) * J->kv_stride * J->esz, vf + (size_t)j * J->hd);
}

/* exp(x) for x <= 0 (softmax arguments s - max): vexp.h's polynomial with FMAs and round to
 * nearest; below -87.3 it gives exp(-87.3) ~ 1.2e-38 instead of 0 (nothing next to the row's
 * largest term, which is 1).  Relative error ~1e-7.  x above 0 is taken as 0: masked lanes
 * (scores outside the visible columns, whose result is dropped) may exceed the max by ~1e11
 * when activations are huge, and 2^k's integer k must not overflow (undefined behaviour). */
static inline float att_exp(float x0) {
    float x = x0 > -87.3f ? x0 : -87.3f;
    x = x < 0.0f ? x : 0.0f;
    float fk = nearbyintf(x * 1.44269504088896341f);
    float r = fmaf(fk, -0.693359375f, x);
    r = fmaf(fk, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    int32_t bits = ((int32_t)fk + 127) << 23;   /* 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* ---- the portable kernels (the definition of the arithmetic) ---- */

/* Loop variants for the portable kernels: with hardware FMA, fmaf is one instruction and the
 * loops vectorise; without it, a libm call per element.  Every variant performs the same operations. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ATT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ATT_CLONES
#endif

/* s[r][j] = fma chain over d of qs[r][d] * kt[d][j], for rows r < nr, all BK columns. */
ATT_CLONES
static void scores_portable(const float *qs, int hd, int nr, const float *kt, float *s) {
    for (int r = 0; r < nr; r++) {
        float *sr = s + (size_t)r * BK;
        for (int j = 0; j < BK; j++) sr[j] = 0.0f;
        for (int d = 0; d < hd; d++) {
            float qd = qs[(size_t)r * hd + d];
            const float *kd = kt + (size_t)d * BK;
            for (int j = 0; j < BK; j++) sr[j] = fmaf(qd, kd[j], sr[j]);
        }
    }
}

/* o[r][:] = fma chain over j in j0..j1-1 of p[r][j] * v[j][:], starting from o[r][:] * a[r]. */
ATT_CLONES
static void values_portable(float *o, int hd, int nr, const float *p, const float *a, const float *v, size_t vs,
                            int j0, int j1) {
    for (int r = 0; r < nr; r++) {
        float *orow = o + (size_t)r * hd;
        for (int d = 0; d < hd; d++) orow[d] *= a[r];
        for (int j = j0; j < j1; j++) {
            float pj = p[(size_t)r * BK + j];
            const float *vj = v + (size_t)j * vs;
            for (int d = 0; d < hd; d++) orow[d] = fmaf(pj, vj[d], orow[d]);
        }
    }
}

/* ---- AVX-512 kernels: the same operations, 16 lanes at a time ---- */
#ifdef CL_X86
static int have_avx512(void) {
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("CL_KERNELS");
        unsigned a, b, c, d;
        __builtin_cpu_init();
        /* CL_KERNELS=generic|avx2 caps the kernel family (mat.h): here, the portable code */
        v = !(e && (!strcmp(e, "generic") || !strcmp(e, "avx2"))) && __builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("fma") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
    }
    return v;
}

/* 16 values at p as f32: SRC 0 f32, 1 f16, 2 bf16 (a compile-time constant). */
static inline __attribute__((always_inline, target("avx512f,f16c"))) __m512 load16(const uint8_t *p, const int SRC) {
    if (SRC == 0) return _mm512_loadu_ps((const float *)p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return SRC == 1 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* n <= 16 keys of one head (rows src, stride in bytes; zeros for rows n .. 15) in the type SRC
 * (load16) converted to f32 and transposed in registers: t[d] = keys 0 .. 15 at dimension d0 + d. */
static inline __attribute__((always_inline, target("avx512f,f16c"))) void transpose16_regs(
    const uint8_t *src, size_t stride, int d0, int n, __m512 t[16], const int SRC) {
    __m512 r[16];
    #pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < n ? load16(src + (size_t)i * stride + (size_t)d0 * (SRC ? 2 : 4), SRC) : _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    #pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* r[4b + c] holds, in each 128-bit lane L, column (4L + c') of rows 4b..4b+3 for c' = c */
    #pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 x0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), x1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
        __m512 x2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88), x3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
        t[c] = _mm512_shuffle_f32x4(x0, x2, 0x88);        /* lane 0 of each: column c */
        t[4 + c] = _mm512_shuffle_f32x4(x1, x3, 0x88);    /* lane 1: column 4 + c */
        t[8 + c] = _mm512_shuffle_f32x4(x0, x2, 0xdd);    /* lane 2: column 8 + c */
        t[12 + c] = _mm512_shuffle_f32x4(x1, x3, 0xdd);   /* lane 3: column 12 + c */
    }
}

/* transpose16_regs for the cache's type, chosen at run time (a last partial group of keys). */
__attribute__((noinline, target("avx512f,f16c"))) static void transpose16_any(const att_job *J, const uint8_t *src,
                                                                             size_t stride, int d0, int n,
                                                                             __m512 t[16]) {
    if (J->dtype == CL_F32) transpose16_regs(src, stride, d0, n, t, 0);
    else if (J->dtype == CL_F16) transpose16_regs(src, stride, d0, n, t, 1);
    else transpose16_regs(src, stride, d0, n, t, 2);
}

/* 16 keys into kt[d][j0 .. j0+15] for d in d0 .. d0+15. */
__attribute__((target("avx512f,f16c"))) static void transpose16(const att_job *J, const uint8_t *src, size_t stride,
                                                               int d0, float *kt, int j0) {
    __m512 t[16];
    if (J->dtype == CL_F16) transpose16_regs(src, stride, d0, 16, t, 1);
    else if (J->dtype == CL_BF16) transpose16_regs(src, stride, d0, 16, t, 2);
    else transpose16_regs(src, stride, d0, 16, t, 0);
    for (int d = 0; d < 16; d++) _mm512_storeu_ps(kt + (size_t)(d0 + d) * BK + j0, t[d]);
}

/* Few rows (decode: one query per head of the group): the scores of a key block straight from the
 * cache, each 16 x 16 piece transposed in registers and used at once (no kt scratch).  The same
 * fma chain over d = 0 .. hd-1 per score as keys_avx512 + scores_tile, so the same bits; columns
 * of absent keys (nk .. BK-1) get zero keys, as there. */
static inline __attribute__((always_inline, target("avx512f,f16c"))) void scores_direct_tile(
    const att_job *J, const uint8_t *kh, int kb0, int nk, const float *qs, int hd, float *s, const int NR,
    const int SRC) {
    size_t stride = (size_t)J->kv_stride * J->esz;
    for (int c = 0; c < BK / 16; c++) {
        int n = nk - 16 * c;
        const uint8_t *src = kh + (size_t)(kb0 + 16 * c) * stride;
        __m512 acc[4];
        #pragma GCC unroll 4
        for (int r = 0; r < NR; r++) acc[r] = _mm512_setzero_ps();
        for (int d0 = 0; d0 < hd && n > 0; d0 += 16) {
            __m512 t[16];
            if (n >= 16) transpose16_regs(src, stride, d0, 16, t, SRC);   /* loads and shuffles in registers */
            else transpose16_any(J, src, stride, d0, n, t);
            #pragma GCC unroll 16
            for (int d = 0; d < 16; d++)
                #pragma GCC unroll 4
                for (int r = 0; r < NR; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(qs[(size_t)r * hd + d0 + d]), t[d], acc[r]);
        }
        #pragma GCC unroll 4
        for (int r = 0; r < NR; r++) _mm512_storeu_ps(s + (size_t)r * BK + 16 * c, acc[r]);
    }
}

#define SCORES_DIRECT_NR(SRC)                                                                          \
    switch (nr) {                                                                                      \
    case 1: scores_direct_tile(J, kh, kb0, nk, qs, hd, s, 1, SRC); break;                              \
    case 2: scores_direct_tile(J, kh, kb0, nk, qs, hd, s, 2, SRC); break;                              \
    case 3: scores_direct_tile(J, kh, kb0, nk, qs, hd, s, 3, SRC); break;                              \
    default: scores_direct_tile(J, kh, kb0, nk, qs, hd, s, 4, SRC); break;   /* nr <= 4 (run_task) */   \
    }

__attribute__((target("avx512f,f16c"))) static void scores_direct(const att_job *J, const uint8_t *kh, int kb0, int nk,
                                                                 const float *qs, int hd, int nr, float *s) {
    if (J->dtype == CL_F16) SCORES_DIRECT_NR(1)
    else if (J->dtype == CL_BF16) SCORES_DIRECT_NR(2)
    else SCORES_DIRECT_NR(0)
}
#undef SCORES_DIRECT_NR

__attribute__((target("avx512f,f16c"))) static void keys_avx512(const att_job *J, const uint8_t *kh, int kb0, int nk,
                                                               float *kt, float *tmp) {
    size_t stride = (size_t)J->kv_stride * J->esz;
    int j = 0;
    for (; j + 16 <= nk; j += 16)
        for (int d0 = 0; d0 < J->hd; d0 += 16) transpose16(J, kh + (size_t)(kb0 + j) * stride, stride, d0, kt, j);
    for (; j < BK; j++) {   /* a last partial group of keys, zeros beyond nk */
        if (j < nk) row_to_f32(J, kh + (size_t)(kb0 + j) * stride, tmp);
        for (int d = 0; d < J->hd; d++) kt[(size_t)d * BK + j] = j < nk ? tmp[d] : 0.0f;
    }
}

__attribute__((target("avx512f,f16c"))) static void values_avx512(const att_job *J, const uint8_t *vh, int kb0, int nk,
                                                                 float *vf) {
    size_t stride = (size_t)J->kv_stride * J->esz;
    for (int j = 0; j < nk; j++) {
        const uint16_t *p = (const uint16_t *)(vh + (size_t)(kb0 + j) * stride);
        float *d = vf + (size_t)j * J->hd;
        for (int e = 0; e < J->hd; e += 16) {
            __m256i h = _mm256_loadu_si256((const __m256i *)(p + e));
            __m512 x = J->dtype == CL_F16 ? _mm512_cvtph_ps(h)
                                          : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
            _mm512_storeu_ps(d + e, x);
        }
    }
}

/* NR rows x BK columns of scores, accumulators in registers. */
static inline __attribute__((always_inline, target("avx512f"))) void scores_tile(const float *qs, int hd,
                                                                                 const float *kt, float *s,
                                                                                 const int NR) {
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const float *kd = kt + (size_t)d * BK;
        __m512 k0 = _mm512_loadu_ps(kd), k1 = _mm512_loadu_ps(kd + 16), k2 = _mm512_loadu_ps(kd + 32),
               k3 = _mm512_loadu_ps(kd + 48);
        #pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            __m512 q = _mm512_set1_ps(qs[(size_t)r * hd + d]);
            acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(q, k2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(q, k3, acc[r][3]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(s + (size_t)r * BK + 16 * c, acc[r][c]);
}

__attribute__((target("avx512f"))) static void scores_avx512(const float *qs, int hd, int nr, const float *kt,
                                                             float *s) {
    int r = 0;
    for (; r + 4 <= nr; r += 4) scores_tile(qs + (size_t)r * hd, hd, kt, s + (size_t)r * BK, 4);
    for (; r < nr; r++) scores_tile(qs + (size_t)r * hd, hd, kt, s + (size_t)r * BK, 1);
}

/* NR rows x NC vectors of output columns (d0 .. d0+16 NC-1); value row j at v + j vs bytes, in
 * the type SRC (load16), converted as it is read. */
static inline __attribute__((always_inline, target("avx512f,f16c"))) void values_tile(
    float *o, int hd, const float *p, const float *a, const uint8_t *v, size_t vs, int j0, int j1, int d0,
    const int NR, const int NC, const int SRC) {
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int r = 0; r < NR; r++) {
        __m512 ar = _mm512_set1_ps(a[r]);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm512_mul_ps(_mm512_loadu_ps(o + (size_t)r * hd + d0 + 16 * c), ar);
    }
    for (int j = j0; j < j1; j++) {
        const uint8_t *vj = v + (size_t)j * vs + (size_t)d0 * (SRC ? 2 : 4);
        __m512 x[4];
        #pragma GCC unroll 4
        for (int c = 0; c < NC; c++) x[c] = load16(vj + (size_t)16 * c * (SRC ? 2 : 4), SRC);
        #pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            __m512 pr = _mm512_set1_ps(p[(size_t)r * BK + j]);
            #pragma GCC unroll 4
            for (int c = 0; c < NC; c++) acc[r][c] = _mm512_fmadd_ps(pr, x[c], acc[r][c]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < NC; c++) _mm512_storeu_ps(o + (size_t)r * hd + d0 + 16 * c, acc[r][c]);
}

/* att_exp (below) on 16 lanes: the same IEEE operations. */
static inline __attribute__((always_inline, target("avx512f"))) __m512 exp16(__m512 x0) {
    __m512 x = _mm512_min_ps(_mm512_max_ps(x0, _mm512_set1_ps(-87.3f)), _mm512_setzero_ps());
    __m512 fk = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(fk, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(fk, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i k = _mm512_cvtps_epi32(fk);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23)));
}

/* Visible lanes of vector c of a block row whose visible columns are jlo .. jhi-1. */
static inline __mmask16 lanes(int c, int jlo, int jhi) {
    int a0 = jlo - 16 * c, a1 = jhi - 16 * c;
    a0 = a0 < 0 ? 0 : a0 > 16 ? 16 : a0;
    a1 = a1 < 0 ? 0 : a1 > 16 ? 16 : a1;
    return (__mmask16)(((1u << a1) - 1) & ~((1u << a0) - 1));
}

/* block_max and block_exp (below) on 16 lanes: the same operations. */
__attribute__((target("avx512f"))) static float block_max_avx512(const float *s, int jlo, int jhi, float m) {
    __m512 neg = _mm512_set1_ps(-FLT_MAX), mx = neg;
    for (int c = 0; c < BK / 16; c++)
        mx = _mm512_max_ps(mx, _mm512_mask_blend_ps(lanes(c, jlo, jhi), neg, _mm512_loadu_ps(s + 16 * c)));
    float mn = _mm512_reduce_max_ps(mx);   /* max is exact: any order gives these bits */
    return m > mn ? m : mn;
}

__attribute__((target("avx512f"))) static float block_exp_avx512(float *s, int jlo, int jhi, float m) {
    __m512 acc = _mm512_setzero_ps(), mv = _mm512_set1_ps(m);
    for (int c = 0; c < BK / 16; c++) {
        __m512 pj = _mm512_maskz_mov_ps(lanes(c, jlo, jhi), exp16(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * c), mv)));
        _mm512_storeu_ps(s + 16 * c, pj);
        acc = _mm512_add_ps(acc, pj);
    }
    /* block_exp's tree: lanes t += t + 8, then t + 4, t + 2, t + 1 */
    __m256 y = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

#define VALUES_NC(NR)                                                                                  \
    for (int d0 = 0; d0 < hd;) {                                                                       \
        int left = (hd - d0) / 16;                                                                     \
        if (left >= 4) values_tile(o, hd, p, a, v, vs, j0, j1, d0, NR, 4, SRC), d0 += 64;              \
        else if (left == 3) values_tile(o, hd, p, a, v, vs, j0, j1, d0, NR, 3, SRC), d0 += 48;         \
        else if (left == 2) values_tile(o, hd, p, a, v, vs, j0, j1, d0, NR, 2, SRC), d0 += 32;         \
        else values_tile(o, hd, p, a, v, vs, j0, j1, d0, NR, 1, SRC), d0 += 16;                        \
    }

static inline __attribute__((always_inline, target("avx512f,f16c"))) void values_rows(
    float *o, int hd, int nr, const float *p, const float *a, const uint8_t *v, size_t vs, int j0, int j1,
    const int SRC) {
    int r = 0;
    for (; r + 4 <= nr; r += 4, o += (size_t)4 * hd, p += (size_t)4 * BK, a += 4) {
        VALUES_NC(4)
    }
    if (r + 2 <= nr) {   /* decode with groups of 2: each value row loaded and converted once */
        VALUES_NC(2)
        r += 2, o += (size_t)2 * hd, p += (size_t)2 * BK, a += 2;
    }
    for (; r < nr; r++, o += hd, p += BK, a++) {
        VALUES_NC(1)
    }
}
#undef VALUES_NC

/* The rows' outputs over value rows j0 .. j1-1 at v (stride vs bytes), stored as dtype (f32 for the
 * converted scratch): the conversion in the loads gives the same f32 values as values_avx512. */
__attribute__((target("avx512f,f16c"))) static void values_avx512_rows(float *o, int hd, int nr, const float *p,
                                                                      const float *a, const uint8_t *v, size_t vs,
                                                                      int j0, int j1, cl_dtype dtype) {
    if (dtype == CL_F16) values_rows(o, hd, nr, p, a, v, vs, j0, j1, 1);
    else if (dtype == CL_BF16) values_rows(o, hd, nr, p, a, v, vs, j0, j1, 2);
    else values_rows(o, hd, nr, p, a, v, vs, j0, j1, 0);
}
#endif

/* ---- online softmax of a block (shared by every ISA: plain C, 16 lanes) ---- */

/* max(m, the largest visible score): s[0..BK) raw scores, visible columns jlo .. jhi-1. */
ATT_CLONES
static float block_max(const float *s, int jlo, int jhi, float m) {
    float mx[16];
    for (int t = 0; t < 16; t++) mx[t] = -FLT_MAX;
    for (int j = 0; j < BK; j += 16)
        for (int t = 0; t < 16; t++) {
            float x = j + t >= jlo && j + t < jhi ? s[j + t] : -FLT_MAX;
            mx[t] = x > mx[t] ? x : mx[t];
        }
    for (int t = 0; t < 16; t++) m = mx[t] > m ? mx[t] : m;
    return m;
}

/* s becomes p_j = exp(s_j - m) where visible, else 0; returns their sum: 16 lanes (j mod 16),
 * then the tree t += t + 8, t + 4, t + 2, t + 1. */
ATT_CLONES
static float block_exp(float *s, int jlo, int jhi, float m) {
    float acc[16];
    for (int t = 0; t < 16; t++) acc[t] = 0.0f;
    for (int j = 0; j < BK; j += 16)
        for (int t = 0; t < 16; t++) {
            float e = att_exp(s[j + t] - m);
            float pj = j + t >= jlo && j + t < jhi ? e : 0.0f;
            s[j + t] = pj;
            acc[t] += pj;
        }
    for (int w = 8; w >= 1; w /= 2)
        for (int t = 0; t < w; t++) acc[t] += acc[t + w];
    return acc[0];
}

/* The row states after a block: a = exp(m - m_new), l = l a + sum, m = m_new (a loop over rows,
 * vectorised). */
ATT_CLONES
static void rows_update(int n, float *m, float *l, float *a, const float *mnew, const float *sum) {
    for (int r = 0; r < n; r++) {
        a[r] = att_exp(m[r] - mnew[r]);
        l[r] = l[r] * a[r] + sum[r];
        m[r] = mnew[r];
    }
}

/* ---- one task ---- */

static void run_task(const att_job *J, int task, att_scratch *W) {
    int g = task / J->n_qb, qb = task % J->n_qb;
    /* zigzag: consecutive tasks pair an early (cheap) and a late (dear) query block */
    qb = qb % 2 == 0 ? qb / 2 : J->n_qb - 1 - qb / 2;
    int group = J->n_heads / J->n_kv_heads, hd = J->hd;
    int i0 = qb * J->nb, nb = J->n_q - i0 < J->nb ? J->n_q - i0 : J->nb, rows = nb * group;
    int klo = J->n_k, khi = 0;   /* the task's keys: klo .. khi-1 */
    for (int r = 0; r < rows; r++) {
        int gi = r / nb, i = r % nb, p = J->q_offset + i0 + i;
        const float *qr = J->q + (size_t)(i0 + i) * J->q_stride + (size_t)(g * group + gi) * hd;
        for (int d = 0; d < hd; d++) W->qs[(size_t)r * hd + d] = qr[d] * J->scale;
        W->lo[r] = J->window > 0 && p - J->window + 1 > 0 ? p - J->window + 1 : 0;
        W->hi[r] = p + 1 < J->n_k ? p + 1 : J->n_k;
        klo = W->lo[r] < klo ? W->lo[r] : klo;
        khi = W->hi[r] > khi ? W->hi[r] : khi;
        W->m[r] = -FLT_MAX;
        W->l[r] = 0.0f;
    }
    memset(W->o, 0, (size_t)rows * hd * sizeof *W->o);
    const uint8_t *kh = J->k + (size_t)g * hd * J->esz, *vh = J->v + (size_t)g * hd * J->esz;
    int direct = 0;   /* few rows (decode): no converted key/value scratch (scores_direct) */
#ifdef CL_X86
    direct = J->simd && rows <= 4;
#endif
    for (int kb0 = klo / BK * BK; kb0 < khi; kb0 += BK) {
        int nk = J->n_k - kb0 < BK ? J->n_k - kb0 : BK;
        int j0 = klo > kb0 ? klo - kb0 : 0, j1 = khi - kb0 < nk ? khi - kb0 : nk;   /* keys any row sees */
        const float *v;
        size_t vs;
        if (J->dtype == CL_F32) v = (const float *)vh + (size_t)kb0 * J->kv_stride, vs = (size_t)J->kv_stride;
        else v = W->vf, vs = (size_t)hd;
#ifdef CL_X86
        if (direct) {
            scores_direct(J, kh, kb0, nk, W->qs, hd, rows, W->s);
        } else if (J->simd) {
            keys_avx512(J, kh, kb0, nk, W->kt, W->vf);
            if (J->dtype != CL_F32) values_avx512(J, vh, kb0, nk, W->vf);
            scores_avx512(W->qs, hd, rows, W->kt, W->s);
        } else
#endif
        {
            keys_portable(J, kh, kb0, nk, W->kt, W->vf);
            if (J->dtype != CL_F32) values_to_f32(J, vh, kb0, nk, W->vf);
            scores_portable(W->qs, hd, rows, W->kt, W->s);
        }
        for (int r = 0; r < rows; r++) {
            int jlo = W->lo[r] > kb0 ? W->lo[r] - kb0 : 0, jhi = W->hi[r] - kb0 < nk ? W->hi[r] - kb0 : nk;
            float *sr = W->s + (size_t)r * BK;
            if (jlo >= jhi) {   /* nothing visible here: the row's state stays as it is (a = 1) */
                memset(sr, 0, BK * sizeof *sr);
                W->mnew[r] = W->m[r];
                W->sum[r] = 0.0f;
                continue;
            }
#ifdef CL_X86
            if (J->simd) {
                W->mnew[r] = block_max_avx512(sr, jlo, jhi, W->m[r]);
                W->sum[r] = block_exp_avx512(sr, jlo, jhi, W->mnew[r]);
                continue;
            }
#endif
            W->mnew[r] = block_max(sr, jlo, jhi, W->m[r]);
            W->sum[r] = block_exp(sr, jlo, jhi, W->mnew[r]);
        }
        rows_update(rows, W->m, W->l, W->a, W->mnew, W->sum);
#ifdef CL_X86
        if (direct)   /* the block's values read in place, converted in the loads */
            values_avx512_rows(W->o, hd, rows, W->s, W->a, vh + (size_t)kb0 * J->kv_stride * J->esz,
                               (size_t)J->kv_stride * J->esz, j0, j1, J->dtype);
        else if (J->simd)
            values_avx512_rows(W->o, hd, rows, W->s, W->a, (const uint8_t *)v, vs * sizeof *v, j0, j1, CL_F32);
        else
#endif
            values_portable(W->o, hd, rows, W->s, W->a, v, vs, j0, j1);
    }
    for (int r = 0; r < rows; r++) {
        int gi = r / nb, i = r % nb;
        float *out = J->out + (size_t)(i0 + i) * J->out_stride + (size_t)(g * group + gi) * hd;
        float l = W->l[r];
        for (int d = 0; d < hd; d++) out[d] = l > 0.0f ? W->o[(size_t)r * hd + d] / l : 0.0f;
    }
}

static void run_tasks(void *ctx, int lo, int hi) {
    const att_job *J = ctx;
    int rows = J->nb * (J->n_heads / J->n_kv_heads), hd = J->hd;
    size_t nf = (size_t)rows * hd * 2 + (size_t)hd * BK + (size_t)BK * hd + (size_t)rows * BK + (size_t)rows * 5;
    float *buf = cl_malloc(nf * sizeof *buf);
    int *ib = cl_malloc((size_t)rows * 2 * sizeof *ib);
    att_scratch W;
    W.qs = buf;
    W.o = W.qs + (size_t)rows * hd;
    W.kt = W.o + (size_t)rows * hd;
    W.vf = W.kt + (size_t)hd * BK;
    W.s = W.vf + (size_t)BK * hd;
    W.m = W.s + (size_t)rows * BK;
    W.l = W.m + rows;
    W.a = W.l + rows;
    W.mnew = W.a + rows;
    W.sum = W.mnew + rows;
    W.lo = ib;
    W.hi = ib + rows;
    for (int t = lo; t < hi; t++) run_task(J, t, &W);
    free(buf);
    free(ib);
}

static int simd_mode = -1;   /* -1: the CPU's best; 0: portable (tests) */

int cl_attention_use_portable(int on) {
    int was = simd_mode == 0;
    simd_mode = on ? 0 : -1;
    return was;
}

void cl_attention_kv(float *out, int out_stride, const float *q, int q_stride, int n_q, const void *k, const void *v,
                     int kv_dtype, int kv_stride, int n_k, int n_heads, int n_kv_heads, int head_dim, int q_offset,
                     int window, float scale) {
    if (n_q <= 0) return;
    att_job J = {out, out_stride, q, q_stride, n_q, k, v, (cl_dtype)kv_dtype, kv_dtype == CL_F32 ? 4 : 2,
                 kv_stride, n_k, n_heads, n_kv_heads, head_dim, q_offset, window, scale, 0, 0, 0};
    int group = n_heads / n_kv_heads;
    int rows = ROWS / (head_dim + 128) > 1 ? ROWS / (head_dim + 128) : 1;   /* 227 at 16, 128 at 128 */
    J.nb = rows / group > 0 ? rows / group : 1;
    if (J.nb > n_q) J.nb = n_q;
    J.n_qb = (n_q + J.nb - 1) / J.nb;
#ifdef CL_X86
    J.simd = simd_mode != 0 && head_dim % 16 == 0 && have_avx512();
#endif
    int n_tasks = n_kv_heads * J.n_qb;
    cl_parallel_for(n_tasks, 1, run_tasks, &J);
}
