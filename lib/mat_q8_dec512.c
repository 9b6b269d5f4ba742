/* mat_q8_dec512.c — decode products (up to 4 activation rows) with quantised weights read in place,
 * AVX512-VNNI (see mat_q8.h for the arithmetic every kernel follows).
 *
 * Decode is memory-bound: 4 weight rows a pass, each read whole, one after the other (address
 * order: one sequential stream with a software prefetch PF bytes ahead; 4 rows side by side
 * streamed at half the rate from DRAM), each block unpacked once into unsigned bytes in registers
 * and multiplied (vpdpbusd) with the activation rows.  The exact integer sums of mat_q8.h come out
 * of sums across lanes (q8_0/q4_0: 16 blocks at a time, folded by unpacks; k-quants: per block 8
 * partial sums, the sub-block scales applied per lane first, kept until the pass's 4 rows are
 * done, then folded to lane = row; the q8_0/q4_0 offsets and q6_K's -32 through the activation
 * 16-sums), then the float sequence, blocks in order, with the 4 rows' chains in the lanes of one
 * vector (the same conversions, products and fma per lane as scalar code).  So the result is bit
 * for bit the portable kernel's.  Built for baseline x86-64: the functions carry target attributes
 * and are only reached through cl_q8_cols_avx512 (cl_q8_decode_avx512). */
#include "mat_q8.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "quant.h"
#include "tensor.h"
#include "util.h"
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "mat_q8_x86.h"

enum { MR = 4, JR = 4, PF = 1536 };   /* activation rows at most; q8_0/q4_0 weight rows a pass; prefetch distance in bytes */

TVI static float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* q8_0 / q4_0: blocks b0 .. b0+15 (those below nb) of row w as unsigned bytes, two blocks a vector
 * (q8_0: q + 128; q4_0: the nibbles, low ones first); vectors from np (a constant <= 8) on: zero. */
TVI static void unpack16(cl_dtype t, const uint8_t *w, int b0, int nb, int np, __m512i u[8]) {
    const int bb = t == CL_Q8_0 ? 34 : 18;
    _Pragma("GCC unroll 8")
    for (int p = 0; p < 8; p++) {
        const int bl = b0 + 2 * p;
        if (p >= np) {
            u[p] = _mm512_setzero_si512();
            continue;
        }
        const uint8_t *q = w + (size_t)bl * bb + 2;
        if (t == CL_Q8_0) {
            __m256i lo = bl < nb ? _mm256_loadu_si256((const __m256i *)q) : _mm256_setzero_si256();
            __m256i hi = bl + 1 < nb ? _mm256_loadu_si256((const __m256i *)(q + 34)) : _mm256_setzero_si256();
            u[p] = _mm512_xor_si512(_mm512_set1_epi8((char)0x80), _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
        } else {
            __m128i lo = bl < nb ? _mm_loadu_si128((const __m128i *)q) : _mm_setzero_si128();
            __m128i hi = bl + 1 < nb ? _mm_loadu_si128((const __m128i *)(q + 18)) : _mm_setzero_si128();
            __m512i x = _mm512_inserti32x4(_mm512_castsi128_si512(lo), lo, 1);
            x = _mm512_inserti32x4(_mm512_inserti32x4(x, hi, 2), hi, 3);
            x = _mm512_mask_srli_epi16(x, (__mmask32)0xFF00FF00u, x, 4);   /* 128-bit lanes 1, 3: high nibbles */
            u[p] = _mm512_and_si512(x, _mm512_set1_epi8(15));
        }
    }
}

/* The exact integer sums of blocks b0.. (up to 16) of activation row r with the unpacked u, less
 * corr (the offset q8_0: 128, q4_0: 8, times the activation block sums; computed once a call).
 * Each vector's 8-lane block sums fold through unpacks and adds into lanes in the order
 * 0,2,4,6,1,3,5,7,8,10,..., which one permute puts in block order. */
TVI static __m512i sums16(const __m512i u[8], const cl_q8act *X, int r, int b0, int nb, int np, const int32_t *corr) {
    const int8_t *a = X->q + (size_t)r * X->K + 32 * (size_t)b0;   /* nb: the blocks end here (this group's) */
    __m512i v[8], t[4];
    _Pragma("GCC unroll 8")
    for (int p = 0; p < 8; p++) {
        const int bl = b0 + 2 * p;
        if (p >= np) {   /* blocks past the group's end (np: a constant) */
            v[p] = _mm512_setzero_si512();
            continue;
        }
        __mmask64 m = bl + 1 < nb ? ~(__mmask64)0 : bl < nb ? (__mmask64)0xFFFFFFFF : 0;
        v[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[p], _mm512_maskz_loadu_epi8(m, a + 64 * p));
    }
    _Pragma("GCC unroll 4")
    for (int p = 0; p < 4; p++)
        t[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * p], v[2 * p + 1]), _mm512_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    const __m512i u0 = _mm512_add_epi32(_mm512_unpacklo_epi64(t[0], t[1]), _mm512_unpackhi_epi64(t[0], t[1]));
    const __m512i u1 = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2], t[3]), _mm512_unpackhi_epi64(t[2], t[3]));
    const __m512i x = _mm512_add_epi32(_mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i ord = _mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
    return _mm512_sub_epi32(_mm512_permutexvar_epi32(ord, x), _mm512_loadu_si512(corr + b0));
}

/* Transposed 4 x 16 -> lane group L of g[k] holds element 4L + k of x[0..3] (as lanes 0..3). */
TVI static void tr4(const __m512 x[4], __m512 g[4]) {
    const __m512 t0 = _mm512_unpacklo_ps(x[0], x[1]), t1 = _mm512_unpackhi_ps(x[0], x[1]);
    const __m512 t2 = _mm512_unpacklo_ps(x[2], x[3]), t3 = _mm512_unpackhi_ps(x[2], x[3]);
    g[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    g[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    g[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    g[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
}

/* nj (<= JR) consecutive weight rows of q8_0 / q4_0 (w, stride rb) against the M activation rows:
 * lane jj of acc[r] per mat_q8.h (corr: [M][nbp]).  Per 16 blocks each row's exact sums and the
 * products dw da come out as vectors (the same conversions and roundings as scalar code), are
 * transposed to lane = weight row, and the fma chains run for the JR rows side by side, blocks in
 * order (rows past nj: zeros, never stored). */
/* Group g (blocks b0 = 16 g .. b0 + n - 1) of one weight row w: per activation row r the block sums
 * and the products dw da as vectors, into buf[r][g][jj][2] (16 floats each).  np (a constant,
 * >= n / 2): the vectors of two blocks worked on, so a short tail group costs what it holds. */
TVI static void group_q32(cl_dtype t, const uint8_t *w, const cl_q8act *X, const int32_t *corr, int nbp, int M,
                          int b0, int n, int np, int jj, int ng, float *buf) {
    const int nb = X->K / 32, bb = t == CL_Q8_0 ? 34 : 18;
    const __mmask16 mn = (__mmask16)(n == 16 ? 0xFFFF : (1u << n) - 1);
    for (int o = 0; o < 16 * bb; o += 64) _mm_prefetch((const char *)(w + (size_t)b0 * bb + PF + o), _MM_HINT_T0);
    __m512i u[8];
    unpack16(t, w, b0, b0 + n, np, u);
    const uint8_t *wd = w + (size_t)b0 * bb;
    __m128i x[2];   /* the blocks' f16 scales by 16-bit inserts (a gather costs ~1/4 of the kernel), converted at once */
    _Pragma("GCC unroll 2")
    for (int k = 0; k < 2; k++) {
        const uint8_t *q = wd + 8 * k * bb;
        x[k] = _mm_setzero_si128();
#define INS(i) if (8 * k + (i) < n) { uint16_t v; memcpy(&v, q + (i) * bb, 2); x[k] = _mm_insert_epi16(x[k], v, i); }
        INS(0) INS(1) INS(2) INS(3) INS(4) INS(5) INS(6) INS(7)
#undef INS
    }
    const __m256i hv = _mm256_set_m128i(x[1], x[0]);
    const __m512 dwv = _mm512_maskz_cvtph_ps(mn, hv);
    for (int r = 0; r < M; r++) {
        float *o = buf + (((size_t)r * ng + b0 / 16) * JR + jj) * 32;
        _mm512_storeu_ps(o, _mm512_cvtepi32_ps(sums16(u, X, r, b0, b0 + n, np, corr + (size_t)r * nbp)));
        _mm512_storeu_ps(o + 16, _mm512_mul_ps(dwv, _mm512_maskz_loadu_ps(mn, X->d + (size_t)r * nb + b0)));
    }
}

/* nj (<= JR) consecutive weight rows of q8_0 / q4_0 (w, stride rb) against the M activation rows:
 * lane jj of acc[r] per mat_q8.h (corr: [M][nbp]; buf: M * ng * JR * 32 floats).  Each row is
 * read whole, one after the other (address order), its block sums and products dw da kept as
 * vectors; then per 16 blocks the rows' vectors are transposed to lane = row and the fma chains run
 * side by side, blocks in order (rows past nj: zeros, never stored). */
TVI static void rows_q32(cl_dtype t, const uint8_t *w, size_t rb, int nj, const cl_q8act *X, const int32_t *corr, int nbp,
                         int M, float *buf, __m128 acc[MR]) {
    const int nb = X->K / 32, ng = (nb + 15) / 16;
    for (int jj = 0; jj < JR; jj++) {
        if (jj >= nj) {
            for (size_t i = 0; i < (size_t)M * ng; i++) memset(buf + (i * JR + jj) * 32, 0, 32 * sizeof *buf);
            continue;
        }
        int b0 = 0;
        for (; b0 + 16 <= nb; b0 += 16) group_q32(t, w + jj * rb, X, corr, nbp, M, b0, 16, 8, jj, ng, buf);   /* 16: constant */
        const int n = nb - b0;   /* the tail: 1 to 15 blocks, in 1, 2, 4 or 8 vectors */
        if (n > 8) group_q32(t, w + jj * rb, X, corr, nbp, M, b0, n, 8, jj, ng, buf);
        else if (n > 4) group_q32(t, w + jj * rb, X, corr, nbp, M, b0, n, 4, jj, ng, buf);
        else if (n > 2) group_q32(t, w + jj * rb, X, corr, nbp, M, b0, n, 2, jj, ng, buf);
        else if (n > 0) group_q32(t, w + jj * rb, X, corr, nbp, M, b0, n, 1, jj, ng, buf);
    }
    for (int r = 0; r < M; r++)
        for (int g = 0; g < ng; g++) {
            const float *o = buf + ((size_t)r * ng + g) * JR * 32;
            const int n = nb - 16 * g < 16 ? nb - 16 * g : 16;
            __m512 F[JR], P[JR], gv[4], h[4];
            for (int jj = 0; jj < JR; jj++) F[jj] = _mm512_loadu_ps(o + 32 * jj), P[jj] = _mm512_loadu_ps(o + 32 * jj + 16);
            tr4(F, gv), tr4(P, h);
            __m128 a = acc[r];
#define STEP(b) if (b < n) a = _mm_fmadd_ps(_mm512_extractf32x4_ps(gv[b % 4], b / 4), _mm512_extractf32x4_ps(h[b % 4], b / 4), a)
            STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
            STEP(8); STEP(9); STEP(10); STEP(11); STEP(12); STEP(13); STEP(14); STEP(15);
#undef STEP
            acc[r] = a;
        }
}

/* k-quants: like q8_0, JR weight rows a pass, each read whole (address order); per block and
 * activation row the exact integer sums come out as 8-lane partial sums (sumi; q4_K/q5_K's summ,
 * q6_K: 0), kept, then per block the JR rows' partial sums are folded (hadds: integer, so exact in
 * any order) to lane = weight row, converted and multiplied as vectors (the same IEEE conversions
 * and products per lane as scalar code), and mat_q8.h's fma sequence runs for the JR rows side by
 * side, blocks in order. */
/* q4_K / q5_K: block b of weight row jj (w) against the M activation rows: the 8-lane partial sums
 * into kb[r][b][0][jj] (sumi) and kb[r][b][1][jj] (summ), d and dmin into dw[b][0 / 1][jj]. */
TVI static void blk_q45k(int five, const uint8_t *w, const cl_q8act *X, int M, int b, int jj, __m256i *kb, float *dw) {
    const __m512i m4 = _mm512_set1_epi8(15);
    /* the 12 scale bytes to sc[0..7], m[0..7] (cl_qk_scale_min for all j at once, 32 bits at a time) */
    uint32_t s3[3];
    memcpy(s3, w + 4, 12);
    const __m128i sm = _mm_setr_epi32((int)(s3[0] & 0x3f3f3f3f), (int)((s3[2] & 0x0f0f0f0f) | ((s3[0] >> 6) & 0x03030303) << 4),
                                      (int)(s3[1] & 0x3f3f3f3f), (int)(((s3[2] >> 4) & 0x0f0f0f0f) | ((s3[1] >> 6) & 0x03030303) << 4));
    const __m512i s32 = _mm512_cvtepu8_epi32(sm);   /* lanes 0-7 sc, 8-15 m */
    const uint8_t *qs = w + (five ? 48 : 16);
    __m512i u[4], scv[4];
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {   /* 64 bytes: c = 2h (bytes 0-31), 2h+1 */
        __m512i x = _mm512_loadu_si512(qs + 64 * h), lo = _mm512_and_si512(x, m4),
                hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
        u[2 * h] = _mm512_shuffle_i64x2(lo, hi, 0x44);       /* c's low nibbles, then its high ones */
        u[2 * h + 1] = _mm512_shuffle_i64x2(lo, hi, 0xEE);
    }
    if (five) {   /* bit 2c (low nibbles) and 2c+1 (high) of qh[l] is bit 4 */
        __m256i h = _mm256_loadu_si256((const __m256i *)(w + 16));
        __m512i hd = _mm512_inserti64x4(_mm512_castsi256_si512(h), h, 1);
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++) {
            __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << 2 * c)), _mm256_set1_epi8((char)(2 << 2 * c)), 1);
            u[c] = _mm512_mask_add_epi8(u[c], _mm512_test_epi8_mask(hd, bit), u[c], _mm512_set1_epi8(16));
        }
    }
    _Pragma("GCC unroll 4")
    for (int c = 0; c < 4; c++)   /* lanes 0-7: sc[2c], 8-15: sc[2c+1] */
        scv[c] = _mm512_permutexvar_epi32(_mm512_mask_blend_epi32((__mmask16)0xFF00, _mm512_set1_epi32(2 * c), _mm512_set1_epi32(2 * c + 1)), s32);
    const __m256i mv = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
    const int nb = X->K / 256;
    dw[(size_t)b * 2 * JR + jj] = h2f(w), dw[((size_t)b * 2 + 1) * JR + jj] = h2f(w + 2);
    for (int r = 0; r < M; r++) {
        const int8_t *a = X->q + (size_t)r * X->K + 256 * (size_t)b;
        __m512i s = _mm512_setzero_si512();
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++)
            s = _mm512_add_epi32(s, _mm512_mullo_epi32(scv[c], _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[c], _mm512_loadu_si512(a + 64 * c))));
        __m256i bs = _mm256_loadu_si256((const __m256i *)(X->bs + (size_t)r * (X->K / 16) + 16 * (size_t)b));
        __m256i *o = kb + ((size_t)r * nb + b) * 2 * JR + jj;
        o[0] = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
        o[JR] = _mm256_madd_epi16(bs, mv);
    }
}

/* q6_K: as blk_q45k (no summ: zero). */
TVI static void blk_q6k(const uint8_t *w, const cl_q8act *X, int M, int b, int jj, __m256i *kb, float *dw) {
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    __m512i u[4], scr[4];
    _Pragma("GCC unroll 2")
    for (int n = 0; n < 2; n++) {   /* elements 128n ..: low nibbles (64), then high nibbles (64) */
        __m512i ql = _mm512_loadu_si512(w + 64 * n);
        __m256i h = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * n));
        __m512i hd = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
        u[2 * n] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(hd, 4), m30));
        u[2 * n + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(hd, m30));
    }
    const __m512i scv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w + 192)));
    _Pragma("GCC unroll 4")
    for (int v = 0; v < 4; v++) {   /* lane l of vector v: 16-group 4v + l/4 */
        const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(4 * v), _mm512_srli_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2));
        scr[v] = _mm512_permutexvar_epi32(idx, scv);
    }
    const int nb = X->K / 256;
    dw[(size_t)b * 2 * JR + jj] = h2f(w + 208), dw[((size_t)b * 2 + 1) * JR + jj] = 0.0f;
    for (int r = 0; r < M; r++) {
        const int8_t *a = X->q + (size_t)r * X->K + 256 * (size_t)b;
        __m512i bs = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(X->bs + (size_t)r * (X->K / 16) + 16 * (size_t)b)));
        __m512i s = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_mullo_epi32(bs, scv), 5));
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++)
            s = _mm512_add_epi32(s, _mm512_mullo_epi32(scr[v], _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[v], _mm512_loadu_si512(a + 64 * v))));
        __m256i *o = kb + ((size_t)r * nb + b) * 2 * JR + jj;
        o[0] = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
        o[JR] = _mm256_setzero_si256();
    }
}

/* nj (<= JR) consecutive weight rows of a k-quant (w, stride rb) against the M activation rows:
 * lane jj of acc[r] per mat_q8.h (kb: M * nb * 2 * JR vectors, dw: nb * 2 * JR floats; rows past
 * nj: zeros, never stored). */
TVI static void rows_k(cl_dtype t, const uint8_t *w, size_t rb, int nj, const cl_q8act *X, int M, __m256i *kb, float *dw,
                       __m128 acc[MR]) {
    const int nb = X->K / 256, bb = t == CL_Q4_K ? 144 : t == CL_Q5_K ? 176 : 210;
    for (int jj = 0; jj < JR; jj++) {
        if (jj >= nj) {
            for (int b = 0; b < nb; b++) {
                dw[(size_t)b * 2 * JR + jj] = dw[((size_t)b * 2 + 1) * JR + jj] = 0.0f;
                for (int r = 0; r < M; r++) {
                    __m256i *o = kb + ((size_t)r * nb + b) * 2 * JR + jj;
                    o[0] = o[JR] = _mm256_setzero_si256();
                }
            }
            continue;
        }
        const uint8_t *wr = w + jj * rb;
        for (int b = 0; b < nb; b++, wr += bb) {
            for (int o = 0; o < bb; o += 64) _mm_prefetch((const char *)(wr + PF + o), _MM_HINT_T0);
            if (t == CL_Q6_K) blk_q6k(wr, X, M, b, jj, kb, dw);
            else blk_q45k(t == CL_Q5_K, wr, X, M, b, jj, kb, dw);
        }
    }
    for (int r = 0; r < M; r++) {
        __m128 a = acc[r];
        for (int b = 0; b < nb; b++) {
            const __m256i *S = kb + ((size_t)r * nb + b) * 2 * JR, *Q = S + JR;
            const __m256i x = _mm256_hadd_epi32(_mm256_hadd_epi32(S[0], S[1]), _mm256_hadd_epi32(S[2], S[3]));
            const __m256i y = _mm256_hadd_epi32(_mm256_hadd_epi32(Q[0], Q[1]), _mm256_hadd_epi32(Q[2], Q[3]));
            /* lanes 0-3: sumi of rows 0-3, 4-7: summ */
            const __m256i z = _mm256_add_epi32(_mm256_permute2x128_si256(x, y, 0x20), _mm256_permute2x128_si256(x, y, 0x31));
            const __m256 f = _mm256_cvtepi32_ps(z);
            const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(dw + (size_t)b * 2 * JR), _mm256_set1_ps(X->d[(size_t)r * nb + b]));
            a = _mm_fmadd_ps(_mm256_castps256_ps128(f), _mm256_castps256_ps128(p), a);
            if (t != CL_Q6_K)   /* + summ * -(dmin da) */
                a = _mm_fmadd_ps(_mm256_extractf128_ps(f, 1), _mm_xor_ps(_mm256_extractf128_ps(p, 1), _mm_set1_ps(-0.0f)), a);
        }
        acc[r] = a;
    }
}

/* Rows j0..j1-1 of W, JR at a time. */
TVI static void rows(cl_dtype t, const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta,
                     float *C, int ldc) {
    const int q32 = t == CL_Q8_0 || t == CL_Q4_0, nb = X->K / 32, nbp = (nb + 15) / 16 * 16, nbk = X->K / 256;
    int32_t *corr = NULL;
    float *buf = NULL;
    __m256i *kb = NULL;
    void *kraw = NULL;
    if (q32) {   /* the weight offset times each activation block's sum */
        corr = cl_malloc((size_t)X->M * nbp * sizeof *corr);
        buf = cl_malloc((size_t)X->M * (nbp / 16) * JR * 32 * sizeof *buf);
        for (int r = 0; r < X->M; r++)
            for (int b = 0; b < nbp; b++) {
                const int16_t *bs = X->bs + (size_t)r * (X->K / 16) + 2 * (size_t)b;
                corr[(size_t)r * nbp + b] = b < nb ? (t == CL_Q8_0 ? 128 : 8) * (bs[0] + bs[1]) : 0;
            }
    } else {
        kraw = cl_malloc((size_t)X->M * nbk * 2 * JR * sizeof *kb + 32);   /* [M][nbk][2][JR], 32-byte aligned */
        kb = (__m256i *)(((uintptr_t)kraw + 31) & ~(uintptr_t)31);
        buf = cl_malloc((size_t)nbk * 2 * JR * sizeof *buf + 1);
    }
    for (int j = j0; j < j1;) {
        const uint8_t *w = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        const int nj = j1 - j < JR ? j1 - j : JR;
        __m128 a4[MR] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
        if (q32 && X->M == 1) rows_q32(t, w, W->row_bytes, nj, X, corr, nbp, 1, buf, a4);   /* a constant: registers */
        else if (q32) rows_q32(t, w, W->row_bytes, nj, X, corr, nbp, X->M, buf, a4);
        else if (X->M == 1) rows_k(t, w, W->row_bytes, nj, X, 1, kb, buf, a4);
        else rows_k(t, w, W->row_bytes, nj, X, X->M, kb, buf, a4);
        for (int r = 0; r < X->M; r++) {
            float l[4];
            _mm_storeu_ps(l, a4[r]);
            for (int jj = 0; jj < nj; jj++) {
                float *o = C + (size_t)r * ldc + j + jj;
                *o = cl_q8_out(l[jj], alpha, beta, *o);
            }
        }
        j += nj;
    }
    free(corr), free(buf), free(kraw);
}

TV static void dec_q8_0(const cl_q8act *X, const cl_mat *W, int j0, int j1, float al, float be, float *C, int ldc) { rows(CL_Q8_0, X, W, j0, j1, al, be, C, ldc); }
TV static void dec_q4_0(const cl_q8act *X, const cl_mat *W, int j0, int j1, float al, float be, float *C, int ldc) { rows(CL_Q4_0, X, W, j0, j1, al, be, C, ldc); }
TV static void dec_q4_k(const cl_q8act *X, const cl_mat *W, int j0, int j1, float al, float be, float *C, int ldc) { rows(CL_Q4_K, X, W, j0, j1, al, be, C, ldc); }
TV static void dec_q5_k(const cl_q8act *X, const cl_mat *W, int j0, int j1, float al, float be, float *C, int ldc) { rows(CL_Q5_K, X, W, j0, j1, al, be, C, ldc); }
TV static void dec_q6_k(const cl_q8act *X, const cl_mat *W, int j0, int j1, float al, float be, float *C, int ldc) { rows(CL_Q6_K, X, W, j0, j1, al, be, C, ldc); }

cl_q8_cols cl_q8_decode_avx512(cl_dtype t, int M) {
    if (M > MR) return NULL;
    switch (t) {
    case CL_Q8_0: return dec_q8_0;
    case CL_Q4_0: return dec_q4_0;
    case CL_Q4_K: return dec_q4_k;
    case CL_Q5_K: return dec_q5_k;
    case CL_Q6_K: return dec_q6_k;
    default: return NULL;
    }
}

#else
cl_q8_cols cl_q8_decode_avx512(cl_dtype t, int M) { return NULL; }
#endif
