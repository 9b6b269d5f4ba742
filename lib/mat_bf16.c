/* mat_bf16.c — bf16 x bf16 products in vdpbf16ps order (see mat_bf16.h).
 *
 * Layout: activations become A2[M][K2] words, each word two bf16 (k = 2p in the low half, 2p + 1
 * in the high half).  A panel of NR = 64 weight rows becomes B[K2][NR] words (the same pairs,
 * column j = weight row n0 + j), so one vdpbf16ps of a broadcast activation word with 16 columns
 * advances 16 outputs by one pair.  A tile of up to MR = 6 activation rows x 64 columns keeps its
 * 24 accumulators in registers over all of K.  Work is split into (panel, slice of rows) tasks on
 * the pool; every output is computed whole inside one tile, so the split does not change bits. */
#include "mat_bf16.h"
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"
#include "util.h"

/* DEC_NR: weight rows per decode pass.  One: the rows are then read as one sequential stream;
 * 2 or 4 rows sharing the activation loads measured 1.7-1.9x slower here (Zen4, SmolLM2 bf16
 * decode), and software prefetch 1-4 KiB ahead did not help. */
enum { NR = 64, MR = 6, DEC_ROWS = 4, DEC_NR = 1 };

uint16_t cl_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40);   /* NaN stays a quiet NaN */
    if ((u & 0x7f800000u) == 0) return (uint16_t)(u >> 16 & 0x8000);          /* subnormal: signed zero */
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

float *cl_bf16_rounded(int trans_a, int M, int K, const float *A, int lda) {
    float *r = cl_malloc((size_t)M * K * sizeof *r + 4);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            uint32_t u = (uint32_t)cl_bf16_round(trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) << 16;
            memcpy(r + (size_t)i * K + k, &u, 4);
        }
    return r;
}

/* a word of two bf16 with subnormal halves flushed to signed zero (vdpbf16ps reads them as zero) */
static inline uint32_t daz2(uint32_t w) {
    uint32_t lo = (w & 0x7f80u) ? 0xffffu : 0x8000u, hi = (w & 0x7f800000u) ? 0xffff0000u : 0x80000000u;
    return w & (lo | hi);
}

/* B[p * NR + j] = pair p of weight row n0 + j for j in [j0, j1), p in [p0, p1) (p1 <= K2); columns
 * j >= nr and an odd K's missing half are 0.  Blocks of 16 pairs (one cache line of each row) so
 * the 16 destination lines stay in L1. */
static void pack_c(const cl_mat *W, int n0, int nr, int K, int j0, int j1, int p0, int p1, uint32_t *B) {
    int full = K / 2;
    for (int pb = p0; pb < p1; pb += 16) {
        int pe = pb + 16 < p1 ? pb + 16 : p1, pf = pe < full ? pe : full;
        for (int j = j0; j < j1; j++) {
            uint32_t *b = B + (size_t)pb * NR + j;
            if (j >= nr) {
                for (int p = pb; p < pe; p++, b += NR) *b = 0;
                continue;
            }
            const uint8_t *row = (const uint8_t *)W->data + (size_t)(n0 + j) * W->row_bytes;
            for (int p = pb; p < pf; p++, b += NR) {
                uint32_t w;
                memcpy(&w, row + 4 * (size_t)p, 4);
                *b = daz2(w);
            }
            if ((K & 1) && full >= pb && full < pe)
                B[(size_t)full * NR + j] = daz2((uint32_t)row[2 * K - 2] | (uint32_t)row[2 * K - 1] << 8);
        }
    }
}

static inline float bf_lo(uint32_t w) {
    uint32_t u = w << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline float bf_hi(uint32_t w) {
    uint32_t u = w & 0xffff0000u;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline float ftz(float s) { return fabsf(s) < FLT_MIN ? copysignf(0.0f, s) : s; }

/* out[r * NR + j] = the sum of row r of a (mr rows, stride lda2 words) with column j of B */
static void tile_c(int mr, int K2, const uint32_t *a, size_t lda2, const uint32_t *B, float *out) {
    for (int i = 0; i < mr * NR; i++) out[i] = 0.0f;
    for (int p = 0; p < K2; p++, B += NR)
        for (int r = 0; r < mr; r++) {
            float ah = bf_hi(a[r * lda2 + p]), al = bf_lo(a[r * lda2 + p]);
            float *o = out + r * NR;
            for (int j = 0; j < NR; j++) o[j] = ftz(ftz(o[j] + ah * bf_hi(B[j])) + al * bf_lo(B[j]));
        }
}

/* Decode (M <= 4): lanes over k.  x2: the activation row as words of bf16 pairs, zero-padded to a
 * multiple of 16 words.  Lane l of 16 takes pairs l, l + 16, .. (vdpbf16ps order, pair p's high
 * half first), then the lanes are added as l + (l + 8), then + 4, + 2, + 1 (float adds). */
static inline float lanes_sum(const float *v) {
    float s8[8], s4[4], s2[2];
    for (int i = 0; i < 8; i++) s8[i] = v[i] + v[i + 8];
    for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
    for (int i = 0; i < 2; i++) s2[i] = s4[i] + s4[i + 2];
    return s2[0] + s2[1];
}

static float dec_c(const uint8_t *row, int K, const uint32_t *x2) {
    float lane[16] = {0};
    int K2 = (K + 1) / 2, full = K / 2;
    for (int p = 0; p < K2; p++) {
        uint32_t w;
        if (p < full) memcpy(&w, row + 4 * (size_t)p, 4);
        else w = (uint32_t)row[2 * K - 2] | (uint32_t)row[2 * K - 1] << 8;
        w = daz2(w);
        float *l = lane + p % 16;
        *l = ftz(ftz(*l + bf_hi(x2[p]) * bf_hi(w)) + bf_lo(x2[p]) * bf_lo(w));
    }
    return lanes_sum(lane);
}

/* out[r * M + m] = <x2 row m, weight row n0 + r> for r < nr (<= 4), m < M (<= 4) */
static void dec_rows_c(const cl_mat *W, int n0, int nr, int K, const uint32_t *x2, size_t ldx, int M, float *out) {
    for (int r = 0; r < nr; r++)
        for (int m = 0; m < M; m++)
            out[r * M + m] = dec_c((const uint8_t *)W->data + (size_t)(n0 + r) * W->row_bytes, K, x2 + (size_t)m * ldx);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define TBF __attribute__((target("avx512f,avx512bf16")))

/* pack_c over whole blocks of 16 rows x 16 pairs by 16x16 transposes of 32-bit words */
TBF static void pack_simd(const cl_mat *W, int n0, int nr, int K, uint32_t *B) {
    int K2 = (K + 1) / 2, full = K / 2, jf = nr / 16 * 16, pfull = full / 16 * 16;
    const __m512i mlo = _mm512_set1_epi32(0x7f80), mhi = _mm512_set1_epi32(0x7f800000);
    const __m512i klo = _mm512_set1_epi32(0xffff), zlo = _mm512_set1_epi32(0x8000);
    const __m512i khi = _mm512_set1_epi32((int)0xffff0000u), zhi = _mm512_set1_epi32((int)0x80000000u);
    for (int jb = 0; jb < jf; jb += 16) {
        const uint8_t *r0 = (const uint8_t *)W->data + (size_t)(n0 + jb) * W->row_bytes;
        for (int p0 = 0; p0 < pfull; p0 += 16) {
            __m512i r[16], t[16], u[16];
            for (int i = 0; i < 16; i++) {
                __m512i w = _mm512_loadu_si512(r0 + (size_t)i * W->row_bytes + 4 * (size_t)p0);
                __m512i m = _mm512_or_si512(_mm512_mask_mov_epi32(zlo, _mm512_test_epi32_mask(w, mlo), klo),
                                            _mm512_mask_mov_epi32(zhi, _mm512_test_epi32_mask(w, mhi), khi));
                r[i] = _mm512_and_si512(w, m);
            }
            for (int i = 0; i < 8; i++) {
                t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
            }
            for (int g = 0; g < 4; g++) {
                u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
                u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
                u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
                u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
            }
            for (int c = 0; c < 4; c++) {   /* u[4g + c], lane L: pair 4L + c of rows 4g .. 4g+3 */
                __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
                __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
                uint32_t *b = B + (size_t)(p0 + c) * NR + jb;
                _mm512_store_si512(b, _mm512_shuffle_i32x4(v0, v2, 0x88));
                _mm512_store_si512(b + 4 * NR, _mm512_shuffle_i32x4(v0, v2, 0xdd));
                _mm512_store_si512(b + 8 * NR, _mm512_shuffle_i32x4(v1, v3, 0x88));
                _mm512_store_si512(b + 12 * NR, _mm512_shuffle_i32x4(v1, v3, 0xdd));
            }
        }
        if (pfull < K2) pack_c(W, n0, nr, K, jb, jb + 16, pfull, K2, B);
    }
    if (jf < NR) pack_c(W, n0, nr, K, jf, NR, 0, K2, B);
}

TBF static inline __attribute__((always_inline)) void tile_k(const int mr, int K2, const uint32_t *a, size_t lda2,
                                                              const uint32_t *B, float *out) {
    __m512 acc[MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int p = 0; p < K2; p++, B += NR) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(B), b1 = (__m512bh)_mm512_load_si512(B + 16);
        __m512bh b2 = (__m512bh)_mm512_load_si512(B + 32), b3 = (__m512bh)_mm512_load_si512(B + 48);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * lda2 + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], x, b2);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], x, b3);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(out + r * NR + 16 * c, acc[r][c]);
}

TBF static void tile_simd(int mr, int K2, const uint32_t *a, size_t lda2, const uint32_t *B, float *out) {
    switch (mr) {
    case 6: tile_k(6, K2, a, lda2, B, out); break;
    case 5: tile_k(5, K2, a, lda2, B, out); break;
    case 4: tile_k(4, K2, a, lda2, B, out); break;
    case 3: tile_k(3, K2, a, lda2, B, out); break;
    case 2: tile_k(2, K2, a, lda2, B, out); break;
    default: tile_k(1, K2, a, lda2, B, out); break;
    }
}

TBF static inline float lanes_sum_k(__m512 v) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

TBF static inline __attribute__((always_inline)) void dec_k(const int nr, const int M, const uint8_t *row0, size_t rb, int K,
                                                             const uint32_t *x2, size_t ldx, float *out) {
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) acc[r][m] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512bh w[4], x[4];
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) w[r] = (__m512bh)_mm512_loadu_si512(row0 + r * rb + 2 * (size_t)k);
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) x[m] = (__m512bh)_mm512_loadu_si512(x2 + m * ldx + k / 2);
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
            for (int m = 0; m < M; m++) acc[r][m] = _mm512_dpbf16_ps(acc[r][m], x[m], w[r]);
    }
    if (k < K) {   /* the last K - k < 32 elements: masked weights, zero-padded activations */
        __mmask32 mk = (__mmask32)(0xffffffffu >> (32 - (K - k)));
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            __m512bh w = (__m512bh)_mm512_maskz_loadu_epi16(mk, row0 + r * rb + 2 * (size_t)k);
#pragma GCC unroll 4
            for (int m = 0; m < M; m++)
                acc[r][m] = _mm512_dpbf16_ps(acc[r][m], (__m512bh)_mm512_loadu_si512(x2 + m * ldx + k / 2), w);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
        for (int m = 0; m < M; m++) out[r * M + m] = lanes_sum_k(acc[r][m]);
}

TBF static void dec_rows_simd(const cl_mat *W, int n0, int nr, int K, const uint32_t *x2, size_t ldx, int M, float *out) {
    for (int r = 0; r < nr; r++, out += M) {
        const uint8_t *row = (const uint8_t *)W->data + (size_t)(n0 + r) * W->row_bytes;
        switch (M) {
        case 4: dec_k(1, 4, row, W->row_bytes, K, x2, ldx, out); break;
        case 3: dec_k(1, 3, row, W->row_bytes, K, x2, ldx, out); break;
        case 2: dec_k(1, 2, row, W->row_bytes, K, x2, ldx, out); break;
        default: dec_k(1, 1, row, W->row_bytes, K, x2, ldx, out); break;
        }
    }
}

int cl_bf16_simd(void) {
    static int v = -1;
    if (v < 0) {
        unsigned a, b, c, d;
        const char *e = getenv("CL_KERNELS");
        __builtin_cpu_init();
        v = !(e && (!strcmp(e, "generic") || !strcmp(e, "avx2"))) && __builtin_cpu_supports("avx512f") && __get_cpuid_count(7, 1, &a, &b, &c, &d) &&
            (a >> 5 & 1);
    }
    return v;
}
#else
static void pack_simd(const cl_mat *W, int n0, int nr, int K, uint32_t *B) { pack_c(W, n0, nr, K, 0, NR, 0, (K + 1) / 2, B); }
static void dec_rows_simd(const cl_mat *W, int n0, int nr, int K, const uint32_t *x2, size_t ldx, int M, float *out) {
    dec_rows_c(W, n0, nr, K, x2, ldx, M, out);
}
static void tile_simd(int mr, int K2, const uint32_t *a, size_t lda2, const uint32_t *B, float *out) {
    tile_c(mr, K2, a, lda2, B, out);
}
int cl_bf16_simd(void) { return 0; }
#endif

int cl_bf16_gemm_wins(int M, int N, int K) { return cl_bf16_simd() && M > 0 && N > 0 && K > 0; }

typedef struct {
    const cl_mat *W;
    const uint32_t *A2;
    size_t lda2;
    int M, N, K, mchunks, simd, ldc;
    float alpha, beta, *C;
} bf16_job;

static void bf16_tasks(void *vj, int lo, int hi) {
    const bf16_job *J = vj;
    int K2 = (J->K + 1) / 2, packed = -1;
    void *mem = cl_malloc((size_t)K2 * NR * sizeof(uint32_t) + 64);
    uint32_t *B = (uint32_t *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);   /* 64-byte aligned loads */
    float out[MR * NR];
    for (int t = lo; t < hi; t++) {
        int pn = t / J->mchunks, mc = t % J->mchunks, n0 = pn * NR, nr = J->N - n0 < NR ? J->N - n0 : NR;
        int m0 = (int)((long)J->M * mc / J->mchunks), m1 = (int)((long)J->M * (mc + 1) / J->mchunks);
        if (pn != packed) {
            if (J->simd) pack_simd(J->W, n0, nr, J->K, B);
            else pack_c(J->W, n0, nr, J->K, 0, NR, 0, K2, B);
            packed = pn;
        }
        for (int m = m0; m < m1; m += MR) {
            int mr = m1 - m < MR ? m1 - m : MR;
            const uint32_t *a = J->A2 + (size_t)m * J->lda2;
            if (J->simd) tile_simd(mr, K2, a, J->lda2, B, out);
            else tile_c(mr, K2, a, J->lda2, B, out);
            for (int r = 0; r < mr; r++)
                for (int j = 0; j < nr; j++) {
                    float s = out[r * NR + j] * J->alpha, *c = J->C + (size_t)(m + r) * J->ldc + n0 + j;
                    *c = J->beta == 0.0f ? s : s + J->beta * *c;
                }
        }
    }
    free(mem);
}

static void bf16_decode(void *vj, int lo, int hi) {
    const bf16_job *J = vj;
    float out[16];
    for (int n = lo; n < hi; n += DEC_NR) {
        int nr = hi - n < DEC_NR ? hi - n : DEC_NR;
        if (J->simd) dec_rows_simd(J->W, n, nr, J->K, J->A2, J->lda2, J->M, out);
        else dec_rows_c(J->W, n, nr, J->K, J->A2, J->lda2, J->M, out);
        for (int r = 0; r < nr; r++)
            for (int m = 0; m < J->M; m++) {
                float s = out[r * J->M + m] * J->alpha, *c = J->C + (size_t)m * J->ldc + n + r;
                *c = J->beta == 0.0f ? s : s + J->beta * *c;
            }
    }
}

void cl_bf16_gemm(int use_simd, int trans_a, int M, int N, int K, float alpha, const float *A, int lda,
                  const cl_mat *W, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int K2 = (K + 1) / 2, dec = M <= DEC_ROWS;
    size_t lda2 = dec ? (size_t)(K2 + 15) / 16 * 16 : (size_t)K2;   /* decode: whole 32-element blocks */
    uint32_t stack[DEC_ROWS * 1024], *A2 = dec && M * lda2 <= DEC_ROWS * 1024 ? stack : cl_malloc((size_t)M * lda2 * sizeof *A2 + 4);
    for (int i = 0; i < M; i++) {
        for (int p = 0; p < K2; p++) {
            int k = 2 * p;
            float lo = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
            float hi = k + 1 >= K ? 0.0f : trans_a ? A[(size_t)(k + 1) * lda + i] : A[(size_t)i * lda + k + 1];
            A2[(size_t)i * lda2 + p] = (uint32_t)cl_bf16_round(lo) | (uint32_t)cl_bf16_round(hi) << 16;
        }
        for (size_t p = (size_t)K2; p < lda2; p++) A2[(size_t)i * lda2 + p] = 0;
    }
    int simd = use_simd && cl_bf16_simd();
    if (dec) {
        bf16_job J = {W, A2, lda2, M, N, K, 1, simd, ldc, alpha, beta, C};
        cl_parallel_for(N, 64, bf16_decode, &J);
    } else {
        int panels = (N + NR - 1) / NR, threads = openblas_get_num_threads(), mchunks = 1;
        /* few panels: slices of rows too, so every thread has work */
        if (panels < 4 * threads) mchunks = (4 * threads + panels - 1) / panels;
        if (mchunks > (M + MR - 1) / MR) mchunks = (M + MR - 1) / MR;
        bf16_job J = {W, A2, lda2, M, N, K, mchunks, simd, ldc, alpha, beta, C};
        cl_parallel_for(panels * mchunks, 1, bf16_tasks, &J);
    }
    if (A2 != stack) free(A2);
}
