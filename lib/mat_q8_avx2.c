/* mat_q8_avx2.c — the integer products of mat_q8.h with AVX2 (for CPUs without AVX512-VNNI).
 *
 * Decode (M < PMIN rows): one output entry at a time, the weights read in place: per weight block
 * the exact integer dot product from vpmaddubsw (unsigned x signed bytes to 16-bit pairs; q8_0
 * weights go in as |w| with the activation's sign flipped where w < 0, so no pair can saturate)
 * and vpmaddwd (16-bit pairs times 1 or the sub-block scale to 32 bits), summed across lanes, then
 * mat_q8.h's float sequence in scalar fmaf.
 * Prefill (M >= PMIN): panels of 16 weight rows repacked on the fly (see cols_prefill), register
 * blocks of 4 (q8_0) or 2 activation rows x 16 columns, lane = column, the float sequence in
 * vector fma per lane.  Every integer is exact and every lane follows mat_q8.h's order, so both paths give the
 * bits of the portable kernel (tests/unit/test_quant_q8.c).  Built for baseline x86-64; the
 * functions carry target attributes and are handed out only after the CPU was checked. */
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
#define T2 __attribute__((target("avx2,fma")))

static inline float h2f(const uint8_t *p) { return cl_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

T2 static inline int hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
T2 static inline __m256i ld(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
/* 32 unsigned x 32 signed bytes -> 8 int32 partial sums, times the 16-bit multiplier m */
T2 static inline __m256i dot(__m256i u, __m256i a, __m256i m) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), m); }
#define NIB(x) _mm256_and_si256(x, _mm256_set1_epi8(15))
#define HI4(x) NIB(_mm256_srli_epi16(x, 4))
/* bits s and s+1.. of each byte (k bits), moved up to bit 4 */
#define BITS(h, s, mask) _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, s), _mm256_set1_epi8(mask)), 4)

T2 static float dot_row(cl_dtype t, const uint8_t *w, const cl_q8act *X, int i) {
    const int K = X->K, nb = K / X->kb, bb = cl_dtype_block_bytes(t);
    const int8_t *a = X->q + (size_t)i * K;
    const float *da = X->d + (size_t)i * nb;
    const int16_t *bs = X->bs + (size_t)i * (K / 16);
    const __m256i one = _mm256_set1_epi16(1);
    float acc = 0.0f;
    for (int b = 0; b < nb; b++, w += bb, a += X->kb, bs += X->kb / 16) {
        if (t == CL_Q8_0) {
            __m256i q = ld(w + 2);
            int isum = hsum(dot(_mm256_sign_epi8(q, q), _mm256_sign_epi8(ld(a), q), one));
            acc = fmaf((float)isum, h2f(w) * da[b], acc);
        } else if (t == CL_Q4_0) {
            __m128i x = _mm_loadu_si128((const __m128i *)(w + 2));
            __m128i lo = _mm_and_si128(x, _mm_set1_epi8(15)), hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(15));
            int isum = hsum(dot(_mm256_set_m128i(hi, lo), ld(a), one)) - 8 * (bs[0] + bs[1]);
            acc = fmaf((float)isum, h2f(w) * da[b], acc);
        } else if (t == CL_Q6_K) {
            __m256i vs = _mm256_setzero_si256();
            int corr = 0;
            for (int n = 0; n < 2; n++) {
                const uint8_t *ql = w + 64 * n, *qh = w + 128 + 32 * n;
                const int8_t *sc = (const int8_t *)w + 192 + 8 * n;
                __m256i L0 = ld(ql), L1 = ld(ql + 32), H = ld(qh);
                __m256i q[4] = {_mm256_or_si256(NIB(L0), BITS(H, 0, 3)), _mm256_or_si256(NIB(L1), BITS(H, 2, 3)),
                                _mm256_or_si256(HI4(L0), BITS(H, 4, 3)), _mm256_or_si256(HI4(L1), BITS(H, 6, 3))};
                for (int tt = 0; tt < 4; tt++) {
                    __m256i m = _mm256_set_m128i(_mm_set1_epi16(sc[2 * tt + 1]), _mm_set1_epi16(sc[2 * tt]));
                    vs = _mm256_add_epi32(vs, dot(q[tt], ld(a + 128 * n + 32 * tt), m));
                }
                for (int g = 0; g < 8; g++) corr += sc[g] * bs[8 * n + g];
            }
            acc = fmaf((float)(hsum(vs) - 32 * corr), h2f(w + 208) * da[b], acc);
        } else {   /* q4_K, q5_K */
            const int five = t == CL_Q5_K;
            const uint8_t *qs = w + (five ? 48 : 16);
            __m256i vs = _mm256_setzero_si256(), H = five ? ld(w + 16) : _mm256_setzero_si256();
            int summ = 0;
            for (int c = 0; c < 4; c++) {
                int s0, m0, s1, m1;
                cl_qk_scale_min(w + 4, 2 * c, &s0, &m0);
                cl_qk_scale_min(w + 4, 2 * c + 1, &s1, &m1);
                __m256i x = ld(qs + 32 * c), lo = NIB(x), hi = HI4(x);
                if (five) lo = _mm256_or_si256(lo, BITS(H, 2 * c, 1)), hi = _mm256_or_si256(hi, BITS(H, 2 * c + 1, 1));
                vs = _mm256_add_epi32(vs, dot(lo, ld(a + 64 * c), _mm256_set1_epi16((short)s0)));
                vs = _mm256_add_epi32(vs, dot(hi, ld(a + 64 * c + 32), _mm256_set1_epi16((short)s1)));
                summ += m0 * (bs[4 * c] + bs[4 * c + 1]) + m1 * (bs[4 * c + 2] + bs[4 * c + 3]);
            }
            acc = fmaf((float)hsum(vs), h2f(w) * da[b], acc);
            acc = fmaf((float)summ, -(h2f(w + 2) * da[b]), acc);
        }
    }
    return acc;
}

/* ---- Prefill (M >= PMIN): panels of PC columns repacked on the fly, rb x PC register blocks ----
 * Per panel and weight block (the panel's copy, 16 x K bytes plus scales, is freed at the end of
 * the call): each column's block unpacked to its stored values (q8_0 signed q,
 * q4_0 the nibble, k-quants q as stored, unsigned), then laid out per 4 elements k as one vector
 * of PC columns x 4 bytes, plus the block's scales per column (lane = column).  Per activation row
 * the 4 bytes are broadcast: vpmaddubsw (weights unsigned, activations signed; q8_0 as |w| with
 * the activation's sign flipped where w < 0, as dot_row) gives 16-bit pairs, summed in 16 bits
 * over as many groups as cannot overflow (4-bit weights 8 groups, 5-bit 4, 6-bit 2: at most
 * 2 x 63 x 128 per pair per group), then vpmaddwd by 1 or the column's sub-block scale to 32 bits.
 * The offsets (q4_0 -8, q6_K -32) and the mins come from the activation sums per 16 (vpmaddwd of
 * scale pairs with sum pairs).  Every integer is exact, so each lane is mat_q8.h's sequence. */
/* NV vectors (PC columns) a panel; register blocks of up to PR rows: q8_0 (32-bit sums only) takes 4,
 * the others 2 (their 16-bit partial sums take as many registers again: 4 rows spilled, measured
 * 1.5x slower on q4_K); PMIN: the row count from which packing pays. */
enum { NV = 2, PC = 8 * NV, PR = 4, PMIN = 4 };
#define TI __attribute__((target("avx2,fma"), always_inline)) inline

/* Packed block: q [nkg][PC][4 bytes], float d[PC], dmin[PC], int32 sc[nsc][PC] (the scale in both
 * 16-bit halves), int32 mp[8][PC] (q4_K/q5_K: m_p in both halves; q6_K: sc_2p | sc_2p+1 << 16). */
typedef struct {
    int kb, nkg, nsc;
    size_t q, d, dmin, sc, mp, stride;
} play;

static play play_of(cl_dtype t) {
    play L;
    L.kb = cl_dtype_block(t), L.nkg = L.kb / 4;
    L.nsc = t == CL_Q6_K ? 16 : L.kb == 256 ? 8 : 0;
    L.q = 0, L.d = (size_t)L.nkg * 4 * PC, L.dmin = L.d + 4 * PC, L.sc = L.dmin + 4 * PC;
    L.mp = L.sc + (size_t)L.nsc * 4 * PC, L.stride = L.mp + (L.nsc ? 8 * 4 * PC : 0);
    return L;
}

T2 static inline void st(void *p, __m256i x) { _mm256_storeu_si256((__m256i *)p, x); }
static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t pair16(int lo, int hi) { return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16); }

/* The kb stored values of one block of t, in element order (mat_q8.c's wq). */
T2 static void unpack_block(cl_dtype t, const uint8_t *w, uint8_t *out) {
    if (t == CL_Q8_0) {
        memcpy(out, w + 2, 32);
    } else if (t == CL_Q4_0) {
        __m128i x = _mm_loadu_si128((const __m128i *)(w + 2));
        _mm_storeu_si128((__m128i *)out, _mm_and_si128(x, _mm_set1_epi8(15)));
        _mm_storeu_si128((__m128i *)(out + 16), _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(15)));
    } else if (t == CL_Q6_K) {
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = w + 64 * n, *qh = w + 128 + 32 * n;
            __m256i L0 = ld(ql), L1 = ld(ql + 32), H = ld(qh);
            st(out + 128 * n, _mm256_or_si256(NIB(L0), BITS(H, 0, 3)));
            st(out + 128 * n + 32, _mm256_or_si256(NIB(L1), BITS(H, 2, 3)));
            st(out + 128 * n + 64, _mm256_or_si256(HI4(L0), BITS(H, 4, 3)));
            st(out + 128 * n + 96, _mm256_or_si256(HI4(L1), BITS(H, 6, 3)));
        }
    } else {   /* q4_K, q5_K */
        const int five = t == CL_Q5_K;
        const uint8_t *qs = w + (five ? 48 : 16);
        __m256i H = five ? ld(w + 16) : _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i x = ld(qs + 32 * c), lo = NIB(x), hi = HI4(x);
            if (five) lo = _mm256_or_si256(lo, BITS(H, 2 * c, 1)), hi = _mm256_or_si256(hi, BITS(H, 2 * c + 1, 1));
            st(out + 64 * c, lo), st(out + 64 * c + 32, hi);
        }
    }
}

/* Pack the nb blocks of the PC rows `rows` (bb bytes a block) into buf (L->stride per block). */
T2 static void pack_panel(cl_dtype t, const play *L, const uint8_t *const rows[PC], int nb, int bb, uint8_t *buf) {
    uint8_t tmp[PC][256];
    for (int b = 0; b < nb; b++) {
        uint8_t *P = buf + (size_t)b * L->stride;
        float *d = (float *)(P + L->d), *dmin = (float *)(P + L->dmin);
        int32_t *sc = (int32_t *)(P + L->sc), *mp = (int32_t *)(P + L->mp);
        for (int c = 0; c < PC; c++) {
            const uint8_t *w = rows[c] + (size_t)b * bb;
            unpack_block(t, w, tmp[c]);
            if (t == CL_Q6_K) {
                const int8_t *s = (const int8_t *)w + 192;
                d[c] = h2f(w + 208);
                for (int g = 0; g < 16; g++) sc[PC * g + c] = pair16(s[g], s[g]);
                for (int p = 0; p < 8; p++) mp[PC * p + c] = pair16(s[2 * p], s[2 * p + 1]);
            } else {
                d[c] = h2f(w);
                if (L->kb == 256) {
                    dmin[c] = h2f(w + 2);
                    for (int j = 0; j < 8; j++) {
                        int s, m;
                        cl_qk_scale_min(w + 4, j, &s, &m);
                        sc[PC * j + c] = pair16(s, s), mp[PC * j + c] = pair16(m, m);
                    }
                }
            }
        }
        for (int g = 0; g < L->nkg; g++)
            for (int c = 0; c < PC; c++) memcpy(P + L->q + 4 * ((size_t)PC * g + c), tmp[c] + 4 * g, 4);
    }
}

/* acc[r][v] (lane = column 8v + lane) over all blocks for R rows from row i0 of X: mat_q8.h's
 * sequence. */
TI static void run_rows(cl_dtype t, const play *L, const uint8_t *pack, int nb, const cl_q8act *X, int i0, const int R,
                        __m256 acc[PR][NV]) {
    const int K = X->K, nbs = K / 16;
    const int8_t *aq[PR];
    const float *ad[PR];
    const int16_t *ab[PR];
    const __m256i one = _mm256_set1_epi16(1);
    for (int r = 0; r < R; r++) {
        aq[r] = X->q + (size_t)(i0 + r) * K, ad[r] = X->d + (size_t)(i0 + r) * nb, ab[r] = X->bs + (size_t)(i0 + r) * nbs;
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_ps();
    }
    for (int b = 0; b < nb; b++) {
        const uint8_t *P = pack + (size_t)b * L->stride;
        const __m256i *q = (const __m256i *)(P + L->q);
        const float *dv = (const float *)(P + L->d), *dm = (const float *)(P + L->dmin);
        __m256i si[PR][NV], s16[PR][NV];
        if (t == CL_Q8_0) {
            for (int r = 0; r < R; r++)
                for (int v = 0; v < NV; v++) si[r][v] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                __m256i w[NV], aw[NV];
                for (int v = 0; v < NV; v++) w[v] = _mm256_load_si256(q + NV * g + v), aw[v] = _mm256_abs_epi8(w[v]);
                for (int r = 0; r < R; r++) {
                    __m256i a = _mm256_set1_epi32(ld32(aq[r] + 32 * b + 4 * g));
                    for (int v = 0; v < NV; v++) si[r][v] = _mm256_add_epi32(si[r][v], dot(aw[v], _mm256_sign_epi8(a, w[v]), one));
                }
            }
        } else if (t == CL_Q4_0) {
            for (int r = 0; r < R; r++)
                for (int v = 0; v < NV; v++) s16[r][v] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++)
                for (int r = 0; r < R; r++) {
                    __m256i a = _mm256_set1_epi32(ld32(aq[r] + 32 * b + 4 * g));
                    for (int v = 0; v < NV; v++)
                        s16[r][v] = _mm256_add_epi16(s16[r][v], _mm256_maddubs_epi16(_mm256_load_si256(q + NV * g + v), a));
                }
            for (int r = 0; r < R; r++) {
                __m256i z = _mm256_set1_epi32(8 * (ab[r][2 * b] + ab[r][2 * b + 1]));
                for (int v = 0; v < NV; v++) si[r][v] = _mm256_sub_epi32(_mm256_madd_epi16(s16[r][v], one), z);
            }
        } else {   /* k-quants: per sub-block scale, chunks of ch groups summed in 16 bits */
            const int gps = t == CL_Q6_K ? 4 : 8, ch = t == CL_Q4_K ? 8 : t == CL_Q5_K ? 4 : 2;
            const __m256i *sc = (const __m256i *)(P + L->sc), *mp = (const __m256i *)(P + L->mp);
            for (int r = 0; r < R; r++)
                for (int v = 0; v < NV; v++) si[r][v] = _mm256_setzero_si256();
            for (int j = 0; j < L->nsc; j++)
                for (int g0 = gps * j; g0 < gps * j + gps; g0 += ch) {
                    for (int r = 0; r < R; r++)
                        for (int v = 0; v < NV; v++) s16[r][v] = _mm256_setzero_si256();
                    for (int g = g0; g < g0 + ch; g++)
                        for (int r = 0; r < R; r++) {
                            __m256i a = _mm256_set1_epi32(ld32(aq[r] + 256 * b + 4 * g));
                            for (int v = 0; v < NV; v++)
                                s16[r][v] = _mm256_add_epi16(s16[r][v], _mm256_maddubs_epi16(_mm256_load_si256(q + NV * g + v), a));
                        }
                    for (int r = 0; r < R; r++)
                        for (int v = 0; v < NV; v++)
                            si[r][v] = _mm256_add_epi32(si[r][v], _mm256_madd_epi16(s16[r][v], _mm256_load_si256(sc + NV * j + v)));
                }
            for (int r = 0; r < R; r++) {   /* sum_p (scale or min pair) . (activation sum pair) */
                __m256i tm[NV];
                for (int v = 0; v < NV; v++) tm[v] = _mm256_setzero_si256();
                for (int p = 0; p < 8; p++) {
                    __m256i a = _mm256_set1_epi32(ld32(ab[r] + 16 * b + 2 * p));
                    for (int v = 0; v < NV; v++) tm[v] = _mm256_add_epi32(tm[v], _mm256_madd_epi16(_mm256_load_si256(mp + NV * p + v), a));
                }
                __m256 da = _mm256_set1_ps(ad[r][b]);
                for (int v = 0; v < NV; v++) {
                    __m256 d = _mm256_mul_ps(_mm256_load_ps(dv + 8 * v), da);
                    if (t == CL_Q6_K) {
                        acc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(si[r][v], _mm256_slli_epi32(tm[v], 5))), d, acc[r][v]);
                    } else {
                        acc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si[r][v]), d, acc[r][v]);
                        acc[r][v] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(tm[v]), _mm256_mul_ps(_mm256_load_ps(dm + 8 * v), da), acc[r][v]);
                    }
                }
            }
            continue;
        }
        for (int r = 0; r < R; r++) {
            __m256 da = _mm256_set1_ps(ad[r][b]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si[r][v]), _mm256_mul_ps(_mm256_load_ps(dv + 8 * v), da), acc[r][v]);
        }
    }
}

/* One instantiation per dtype and row count, so both are constants inside run_rows. */
typedef void (*run_fn)(const play *, const uint8_t *, int, const cl_q8act *, int, __m256[PR][NV]);
#define RUN1(T, N, R) \
    T2 static void run_##N##_##R(const play *L, const uint8_t *p, int nb, const cl_q8act *X, int i0, __m256 a[PR][NV]) { run_rows(T, L, p, nb, X, i0, R, a); }
#define RUNS(T, N) RUN1(T, N, 1) RUN1(T, N, 2) RUN1(T, N, 3) RUN1(T, N, 4)
RUNS(CL_Q8_0, q8_0)
RUNS(CL_Q4_0, q4_0)
RUNS(CL_Q4_K, q4_k)
RUNS(CL_Q5_K, q5_k)
RUNS(CL_Q6_K, q6_k)
#define RUNTAB(N) {run_##N##_1, run_##N##_2, run_##N##_3, run_##N##_4}

T2 static void cols_prefill(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta, float *C,
                            int ldc) {
    static const run_fn tq8[PR] = RUNTAB(q8_0), tq4[PR] = RUNTAB(q4_0), tk4[PR] = RUNTAB(q4_k), tk5[PR] = RUNTAB(q5_k),
                        tk6[PR] = RUNTAB(q6_k);
    const cl_dtype t = W->dtype;
    const run_fn *run = t == CL_Q8_0 ? tq8 : t == CL_Q4_0 ? tq4 : t == CL_Q4_K ? tk4 : t == CL_Q5_K ? tk5 : tk6;
    const play L = play_of(t);
    const int nb = X->K / L.kb, bb = cl_dtype_block_bytes(t), rb = t == CL_Q8_0 ? PR : 2;
    uint8_t *mem = cl_malloc(L.stride * (size_t)nb + 32), *buf = mem + (32 - (uintptr_t)mem % 32) % 32;
    for (int p0 = j0; p0 < j1; p0 += PC) {
        const uint8_t *rows[PC];
        for (int c = 0; c < PC; c++) {   /* columns past j1 repeat the last one; not stored */
            int j = p0 + c < j1 ? p0 + c : j1 - 1;
            rows[c] = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        }
        pack_panel(t, &L, rows, nb, bb, buf);
        const int nc = j1 - p0 < PC ? j1 - p0 : PC;
        for (int i0 = 0; i0 < X->M; i0 += rb) {
            const int R = X->M - i0 < rb ? X->M - i0 : rb;
            __m256 acc[PR][NV];
            float v[PC];
            run[R - 1](&L, buf, nb, X, i0, acc);
            for (int r = 0; r < R; r++) {
                for (int k = 0; k < NV; k++) _mm256_storeu_ps(v + 8 * k, acc[r][k]);
                float *o = C + (size_t)(i0 + r) * ldc + p0;
                for (int c = 0; c < nc; c++) o[c] = cl_q8_out(v[c], alpha, beta, o[c]);
            }
        }
    }
    free(mem);
}

/* M < PMIN (decode): one entry at a time, the weights read in place; else the blocked kernel. */
T2 static void cols_avx2(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta, float *C,
                         int ldc) {
    if (X->M >= PMIN) {
        cols_prefill(X, W, j0, j1, alpha, beta, C, ldc);
        return;
    }
    for (int j = j0; j < j1; j++) {
        const uint8_t *w = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        for (int i = 0; i < X->M; i++) {
            float *o = C + (size_t)i * ldc + j;
            *o = cl_q8_out(dot_row(W->dtype, w, X, i), alpha, beta, *o);
        }
    }
}

cl_q8_cols cl_q8_cols_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? cols_avx2 : NULL;
}
#endif
