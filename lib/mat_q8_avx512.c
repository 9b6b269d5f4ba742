/* mat_q8_avx512.c — the integer products of mat_q8.h with AVX512-VNNI (vpdpbusd).
 *
 * Panels of 32 columns (rows of W) are repacked on the fly, block by block, into a small buffer:
 * per 4 elements k of a block, 16 columns x 4 unsigned bytes per 512-bit vector (two vectors per
 * panel), plus the panel's scales as vectors.  Weights become unsigned (q8_0: q + 128, i.e. the
 * sign bit flipped; q4_0: the nibble; k-quants: as stored), the activations stay signed, and the
 * offset comes back through the activation block sums (q8_0: -128 sum q_a, q4_0: -8 sum q_a,
 * q6_K: -32 sum_16 sc sum q_a), so every integer is the exact value mat_q8.h defines.  Up to 4
 * activation rows x 32 columns are register-blocked; the float part is mat_q8.h's sequence, one
 * lane per column.  The file is built for baseline x86-64; its functions carry target attributes
 * and are only handed out after the CPU was checked. */
#include "mat_q8.h"
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

enum { RB = 4 };   /* activation rows per register block */

static inline float h2f(const uint8_t *p) { return cl_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Packed block: q [nkg][2][64 bytes], then float d[2][16], dmin[2][16], int32 sc[nsc][2][16],
 * int32 mp[8][2][16] (q4_K/q5_K: m_j in both 16-bit halves; q6_K: sc_2t | sc_2t+1 << 16). */
typedef struct {
    int kb, nkg, nsc;
    size_t q, d, dmin, sc, mp, stride;
} layout;

static layout layout_of(cl_dtype t) {
    layout L = {0};
    L.kb = cl_dtype_block(t), L.nkg = L.kb / 4;
    L.nsc = t == CL_Q6_K ? 16 : t == CL_Q8_0 || t == CL_Q4_0 ? 0 : 8;
    L.q = 0, L.d = (size_t)L.nkg * 128, L.dmin = L.d + 128, L.sc = L.dmin + 128;
    L.mp = L.sc + (size_t)L.nsc * 128, L.stride = L.mp + (L.nsc ? 8 * 128 : 0);
    return L;
}

/* Transposing 16 rows x 8 dwords (one 32-byte piece of each row) into 8 vectors, one per dword,
 * 16 rows each: three rounds of 8 two-source permutes.  The rows end up in the lane order sigma
 * (the same for every dword), which the scales' gathers and the stores follow. */
typedef struct {
    int32_t idx[3][8][16];   /* permute indices of each round and output */
    int sigma[16];           /* lane l of an output holds row sigma[l] */
} transposer;

/* Lanes of a (tags: row * 8 + dword) and b (16 + lane) whose dword has bit `bit` == h. */
static void sel(const int *ta, const int *tb, int bit, int h, int32_t *idx, int *to) {
    int n = 0;
    for (int l = 0; l < 16; l++)
        if (((ta[l] & 7) >> bit & 1) == h) idx[n] = l, to[n++] = ta[l];
    for (int l = 0; l < 16; l++)
        if (((tb[l] & 7) >> bit & 1) == h) idx[n] = 16 + l, to[n++] = tb[l];
}

/* Round 1 pairs inputs p, p+4 on dword bit 2; round 2 pairs p, p+2 on bit 1; round 3 p, p+1 on bit 0:
 * output k of a round is pair k / 2 with h = k % 2 (pairs listed below). */
static const int T_DWORD[8] = {0, 1, 4, 5, 2, 3, 6, 7};   /* dword held by output k after round 3 */
static const int PAIR[3][4][2] = {{{0, 4}, {1, 5}, {2, 6}, {3, 7}}, {{0, 4}, {2, 6}, {1, 5}, {3, 7}},
                                  {{0, 2}, {4, 6}, {1, 3}, {5, 7}}};

static void transposer_init(transposer *T) {
    int tag[8][16], nt[8][16];
    for (int p = 0; p < 8; p++)
        for (int l = 0; l < 16; l++) tag[p][l] = (2 * p + (l >> 3)) * 8 + (l & 7);
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 8; k++)
            sel(tag[PAIR[r][k / 2][0]], tag[PAIR[r][k / 2][1]], 2 - r, k % 2, T->idx[r][k], nt[k]);
        memcpy(tag, nt, sizeof tag);
    }
    for (int l = 0; l < 16; l++) T->sigma[l] = tag[0][l] >> 3;
}

/* out[g] lane l = dword g of rows[sigma[l]] + off. */
TVI static void transpose16x8(const transposer *T, const uint8_t *const rows[16], size_t off, __m512i out[8]) {
    __m512i x[8], y[8];
    _Pragma("GCC unroll 8")
    for (int p = 0; p < 8; p++)
        x[p] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(rows[2 * p] + off))),
                                  _mm256_loadu_si256((const __m256i *)(rows[2 * p + 1] + off)), 1);
    _Pragma("GCC unroll 3")
    for (int r = 0; r < 3; r++) {
        _Pragma("GCC unroll 8")
        for (int k = 0; k < 8; k++)
            y[k] = _mm512_permutex2var_epi32(x[PAIR[r][k / 2][0]], _mm512_loadu_si512(T->idx[r][k]), x[PAIR[r][k / 2][1]]);
        _Pragma("GCC unroll 8")
        for (int k = 0; k < 8; k++) x[k] = y[k];
    }
    _Pragma("GCC unroll 8")
    for (int k = 0; k < 8; k++) out[T_DWORD[k]] = x[k];
}

/* Repack one block (byte offset boff in each row) of the 32 rows (lane l of vector v: row
 * 16v + sigma[l]; idx[v] are those rows' offsets from rows[0]). */
TVI static void pack_block(cl_dtype t, const layout *L, const transposer *T, size_t boff, const __m512i idx[2],
                           const uint8_t *const rows[32], uint8_t *P) {
    const __m512i m4 = _mm512_set1_epi8(15), m1 = _mm512_set1_epi8(1), m2 = _mm512_set1_epi8(3);
    const uint8_t *blk = rows[0] + boff;
    __m512i *q = (__m512i *)(P + L->q);
    _Pragma("GCC unroll 2")
    for (int v = 0; v < 2; v++) {
        const uint8_t *const *rv = rows + 16 * v;
        __m512i x[8], h[8];
        switch (t) {
        case CL_Q8_0:
            transpose16x8(T, rv, boff + 2, x);
            _Pragma("GCC unroll 8")
            for (int g = 0; g < 8; g++) q[2 * g + v] = _mm512_xor_si512(x[g], _mm512_set1_epi8((char)0x80));
            break;
        case CL_Q4_0:   /* 16 bytes a row: gathers */
            for (int g = 0; g < 4; g++) {
                __m512i y = _mm512_i32gather_epi32(idx[v], (const void *)(blk + 2 + 4 * g), 1);
                q[2 * g + v] = _mm512_and_si512(y, m4);
                q[2 * (g + 4) + v] = _mm512_and_si512(_mm512_srli_epi16(y, 4), m4);
            }
            break;
        case CL_Q4_K: case CL_Q5_K: {
            const int five = t == CL_Q5_K, qs = five ? 48 : 16;
            if (five) transpose16x8(T, rv, boff + 16, h);
            for (int c = 0; c < 4; c++) {
                transpose16x8(T, rv, boff + qs + 32 * c, x);
                _Pragma("GCC unroll 8")
                for (int g = 0; g < 8; g++) {
                    __m512i lo = _mm512_and_si512(x[g], m4), hi = _mm512_and_si512(_mm512_srli_epi16(x[g], 4), m4);
                    if (five) {
                        lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h[g], 2 * c), m1), 4));
                        hi = _mm512_or_si512(hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h[g], 2 * c + 1), m1), 4));
                    }
                    q[2 * (16 * c + g) + v] = lo;
                    q[2 * (16 * c + 8 + g) + v] = hi;
                }
            }
            break;
        }
        case CL_Q6_K:
            for (int n = 0; n < 2; n++) {
                __m512i l1[8];
                transpose16x8(T, rv, boff + 64 * n, x);
                transpose16x8(T, rv, boff + 64 * n + 32, l1);
                transpose16x8(T, rv, boff + 128 + 32 * n, h);
                _Pragma("GCC unroll 8")
                for (int g = 0; g < 8; g++)
                    _Pragma("GCC unroll 4")
                    for (int tt = 0; tt < 4; tt++) {
                        __m512i lo = tt & 1 ? l1[g] : x[g];
                        lo = tt >= 2 ? _mm512_and_si512(_mm512_srli_epi16(lo, 4), m4) : _mm512_and_si512(lo, m4);
                        __m512i hb = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h[g], 2 * tt), m2), 4);
                        q[2 * (32 * n + 8 * tt + g) + v] = _mm512_or_si512(lo, hb);
                    }
            }
            break;
        default: break;
        }
    }
    /* scales, gathered per 16 columns and unpacked in vectors (lane = column) */
    float *d = (float *)(P + L->d), *dmin = (float *)(P + L->dmin);
    int32_t *sc = (int32_t *)(P + L->sc), *mp = (int32_t *)(P + L->mp);
    const __m512i lo16 = _mm512_set1_epi32(0xFFFF);
    for (int v = 0; v < 2; v++) {
#define G(off) _mm512_i32gather_epi32(idx[v], (const void *)(blk + (off)), 1)
#define H2F(x) _mm512_cvtph_ps(_mm512_cvtepi32_epi16(x))
#define SR(x, n) _mm512_srli_epi32(x, n)
#define AND(x, m) _mm512_and_si512(x, _mm512_set1_epi32(m))
#define ST(p, j, x) _mm512_storeu_si512((void *)((p) + 16 * (2 * (j) + v)), x)
        switch (t) {
        case CL_Q8_0: case CL_Q4_0: _mm512_storeu_ps(d + 16 * v, H2F(G(0))); break;
        case CL_Q4_K: case CL_Q5_K: {
            __m512i dd = G(0), D0 = G(4), D1 = G(8), D2 = G(12);
            _mm512_storeu_ps(d + 16 * v, H2F(dd));
            _mm512_storeu_ps(dmin + 16 * v, H2F(SR(dd, 16)));
            for (int j = 0; j < 8; j++) {
                __m512i a, m;
                if (j < 4) {
                    a = AND(SR(D0, 8 * j), 63), m = AND(SR(D1, 8 * j), 63);
                } else {
                    int jj = j - 4;
                    a = _mm512_or_si512(AND(SR(D2, 8 * jj), 15), _mm512_slli_epi32(AND(SR(D0, 8 * jj + 6), 3), 4));
                    m = _mm512_or_si512(AND(SR(D2, 8 * jj + 4), 15), _mm512_slli_epi32(AND(SR(D1, 8 * jj + 6), 3), 4));
                }
                ST(sc, j, a);
                ST(mp, j, _mm512_or_si512(m, _mm512_slli_epi32(m, 16)));
            }
            break;
        }
        case CL_Q6_K: {
            _mm512_storeu_ps(d + 16 * v, H2F(SR(G(206), 16)));
            __m512i g16[16];
            for (int k = 0; k < 4; k++) {
                __m512i x = G(192 + 4 * k);
                for (int i = 0; i < 4; i++) g16[4 * k + i] = _mm512_srai_epi32(_mm512_slli_epi32(x, 24 - 8 * i), 24);
            }
            for (int g = 0; g < 16; g++) ST(sc, g, g16[g]);
            for (int p = 0; p < 8; p++)
                ST(mp, p, _mm512_or_si512(_mm512_and_si512(g16[2 * p], lo16), _mm512_slli_epi32(g16[2 * p + 1], 16)));
            break;
        }
        default: break;
        }
#undef G
#undef H2F
#undef SR
#undef AND
#undef ST
    }
}

/* acc[r][v] over all blocks for R rows starting at row i0 of X (mat_q8.h's float sequence). */
TVI static void run_rows(cl_dtype t, const layout *L, const uint8_t *pack, int nb, const cl_q8act *X, int i0,
                         const int R, __m512 acc[RB][2]) {
    const int K = X->K, nbs = K / 16;
    const int8_t *aq[RB];
    const float *ad[RB];
    const int16_t *ab[RB];
    _Pragma("GCC unroll 16")
    for (int r = 0; r < R; r++) {
        aq[r] = X->q + (size_t)(i0 + r) * K, ad[r] = X->d + (size_t)(i0 + r) * nb, ab[r] = X->bs + (size_t)(i0 + r) * nbs;
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    }
    for (int b = 0; b < nb; b++) {
        const uint8_t *P = pack + (size_t)b * L->stride;
        const __m512i *q = (const __m512i *)(P + L->q);
        const __m512 *d = (const __m512 *)(P + L->d), *dmin = (const __m512 *)(P + L->dmin);
        const __m512i *sc = (const __m512i *)(P + L->sc), *mp = (const __m512i *)(P + L->mp);
        __m512i si[RB][2], tm[RB][2];
        if (t == CL_Q8_0 || t == CL_Q4_0) {
            const int z = t == CL_Q8_0 ? 128 : 8;
            _Pragma("GCC unroll 16")
            for (int r = 0; r < R; r++) {
                const int16_t *s = ab[r] + 2 * b;
                si[r][0] = si[r][1] = _mm512_set1_epi32(-z * (s[0] + s[1]));
            }
            _Pragma("GCC unroll 16")
            for (int g = 0; g < 8; g++) {
                __m512i w0 = q[2 * g], w1 = q[2 * g + 1];
                _Pragma("GCC unroll 16")
                for (int r = 0; r < R; r++) {
                    __m512i a = _mm512_set1_epi32(ld32(aq[r] + 32 * b + 4 * g));
                    si[r][0] = _mm512_dpbusd_epi32(si[r][0], w0, a);
                    si[r][1] = _mm512_dpbusd_epi32(si[r][1], w1, a);
                }
            }
            _Pragma("GCC unroll 16")
            for (int r = 0; r < R; r++) {
                __m512 da = _mm512_set1_ps(ad[r][b]);
                _Pragma("GCC unroll 16")
                for (int v = 0; v < 2; v++)
                    acc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(si[r][v]), _mm512_mul_ps(d[v], da), acc[r][v]);
            }
            continue;
        }
        const int k6 = t == CL_Q6_K, per = k6 ? 4 : 8;   /* 4-groups per scale */
        const int8_t *ab8[RB];
        _Pragma("GCC unroll 16")
        for (int r = 0; r < R; r++) {
            si[r][0] = si[r][1] = _mm512_setzero_si512();
            ab8[r] = aq[r] + 256 * b;
        }
        for (int j = 0; j < L->nsc; j++) {
            _Pragma("GCC unroll 16")
            for (int r = 0; r < R; r++) tm[r][0] = tm[r][1] = _mm512_setzero_si512();
            _Pragma("GCC unroll 16")
            for (int g = per * j; g < per * j + per; g++) {
                __m512i w0 = q[2 * g], w1 = q[2 * g + 1];
                _Pragma("GCC unroll 16")
                for (int r = 0; r < R; r++) {
                    __m512i a = _mm512_set1_epi32(ld32(ab8[r] + 4 * g));
                    tm[r][0] = _mm512_dpbusd_epi32(tm[r][0], w0, a);
                    tm[r][1] = _mm512_dpbusd_epi32(tm[r][1], w1, a);
                }
            }
            _Pragma("GCC unroll 16")
            for (int r = 0; r < R; r++)
                _Pragma("GCC unroll 16")
                for (int v = 0; v < 2; v++) si[r][v] = _mm512_add_epi32(si[r][v], _mm512_mullo_epi32(tm[r][v], sc[2 * j + v]));
        }
        /* the activation-sum term: sum over pairs p of 16-sums */
        _Pragma("GCC unroll 16")
        for (int r = 0; r < R; r++) tm[r][0] = tm[r][1] = _mm512_setzero_si512();
        _Pragma("GCC unroll 16")
        for (int p = 0; p < 8; p++)
            _Pragma("GCC unroll 16")
            for (int r = 0; r < R; r++) {
                __m512i a = _mm512_set1_epi32(ld32(ab[r] + 16 * b + 2 * p));
                tm[r][0] = _mm512_dpwssd_epi32(tm[r][0], mp[2 * p], a);
                tm[r][1] = _mm512_dpwssd_epi32(tm[r][1], mp[2 * p + 1], a);
            }
        _Pragma("GCC unroll 16")
        for (int r = 0; r < R; r++) {
            __m512 da = _mm512_set1_ps(ad[r][b]);
            _Pragma("GCC unroll 16")
            for (int v = 0; v < 2; v++) {
                if (k6) {
                    __m512i s = _mm512_sub_epi32(si[r][v], _mm512_slli_epi32(tm[r][v], 5));
                    acc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d[v], da), acc[r][v]);
                } else {
                    acc[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(si[r][v]), _mm512_mul_ps(d[v], da), acc[r][v]);
                    acc[r][v] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(tm[r][v]), _mm512_mul_ps(dmin[v], da), acc[r][v]);
                }
            }
        }
    }
}

/* One instantiation per dtype and row count, so both are constants inside run_rows. */
#define RUNS(T, N)                                                                                        \
    TV static void run_##N##_1(const layout *L, const uint8_t *p, int nb, const cl_q8act *X, int i0, __m512 a[RB][2]) { run_rows(T, L, p, nb, X, i0, 1, a); } \
    TV static void run_##N##_2(const layout *L, const uint8_t *p, int nb, const cl_q8act *X, int i0, __m512 a[RB][2]) { run_rows(T, L, p, nb, X, i0, 2, a); } \
    TV static void run_##N##_3(const layout *L, const uint8_t *p, int nb, const cl_q8act *X, int i0, __m512 a[RB][2]) { run_rows(T, L, p, nb, X, i0, 3, a); } \
    TV static void run_##N##_4(const layout *L, const uint8_t *p, int nb, const cl_q8act *X, int i0, __m512 a[RB][2]) { run_rows(T, L, p, nb, X, i0, 4, a); }
RUNS(CL_Q8_0, q8_0)
RUNS(CL_Q4_0, q4_0)
RUNS(CL_Q4_K, q4_k)
RUNS(CL_Q5_K, q5_k)
RUNS(CL_Q6_K, q6_k)
typedef void (*run_fn)(const layout *, const uint8_t *, int, const cl_q8act *, int, __m512[RB][2]);
#define RUNTAB(N) {run_##N##_1, run_##N##_2, run_##N##_3, run_##N##_4}

TV static void pack_q8_0(const layout *L, const transposer *T, size_t o, const __m512i i[2], const uint8_t *const r[32], uint8_t *P) { pack_block(CL_Q8_0, L, T, o, i, r, P); }
TV static void pack_q4_0(const layout *L, const transposer *T, size_t o, const __m512i i[2], const uint8_t *const r[32], uint8_t *P) { pack_block(CL_Q4_0, L, T, o, i, r, P); }
TV static void pack_q4_k(const layout *L, const transposer *T, size_t o, const __m512i i[2], const uint8_t *const r[32], uint8_t *P) { pack_block(CL_Q4_K, L, T, o, i, r, P); }
TV static void pack_q5_k(const layout *L, const transposer *T, size_t o, const __m512i i[2], const uint8_t *const r[32], uint8_t *P) { pack_block(CL_Q5_K, L, T, o, i, r, P); }
TV static void pack_q6_k(const layout *L, const transposer *T, size_t o, const __m512i i[2], const uint8_t *const r[32], uint8_t *P) { pack_block(CL_Q6_K, L, T, o, i, r, P); }

TV static void cols_avx512(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta, float *C,
                           int ldc) {
    const cl_dtype t = W->dtype;
    cl_q8_cols dec = cl_q8_decode_avx512(t, X->M);   /* decode: in place (mat_q8_dec512.c) */
    if (dec) {
        dec(X, W, j0, j1, alpha, beta, C, ldc);
        return;
    }
    const layout L = layout_of(t);
    const int nb = X->K / L.kb, bb = cl_dtype_block_bytes(t);
    void (*pack)(const layout *, const transposer *, size_t, const __m512i[2], const uint8_t *const[32], uint8_t *);
    transposer T;
    transposer_init(&T);
    int32_t sinv[16];
    for (int l = 0; l < 16; l++) sinv[T.sigma[l]] = l;
    const __m512i vsinv = _mm512_loadu_si512(sinv);
    run_fn run[4];
    static const run_fn tq8[4] = RUNTAB(q8_0), tq4[4] = RUNTAB(q4_0), tk4[4] = RUNTAB(q4_k), tk5[4] = RUNTAB(q5_k),
                        tk6[4] = RUNTAB(q6_k);
    switch (t) {
    case CL_Q8_0: pack = pack_q8_0, memcpy(run, tq8, sizeof run); break;
    case CL_Q4_0: pack = pack_q4_0, memcpy(run, tq4, sizeof run); break;
    case CL_Q4_K: pack = pack_q4_k, memcpy(run, tk4, sizeof run); break;
    case CL_Q5_K: pack = pack_q5_k, memcpy(run, tk5, sizeof run); break;
    case CL_Q6_K: pack = pack_q6_k, memcpy(run, tk6, sizeof run); break;
    default: return;
    }
    (void)bb;
    uint8_t *mem = cl_malloc(L.stride * (size_t)nb + 64), *buf = mem + (64 - (uintptr_t)mem % 64) % 64;
    for (int p0 = j0; p0 < j1; p0 += 32) {
        const uint8_t *rows[32];
        int32_t off[32];
        for (int c = 0; c < 32; c++) {   /* columns past the end repeat the last row; not stored */
            int j = p0 + c < W->rows ? p0 + c : W->rows - 1;
            rows[c] = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        }
        /* Read side by side, block by block, 32 rows defeat the hardware prefetcher (decode ran
         * at DRAM latency): fetch the next panel's rows, one contiguous range, into L2 now. */
        if (p0 + 32 < j1) {
            const uint8_t *nx = (const uint8_t *)W->data + (size_t)(p0 + 32) * W->row_bytes;
            size_t n = (size_t)((j1 - p0 - 32 < 32 ? j1 - p0 - 32 : 32)) * W->row_bytes;
            for (size_t o = 0; o < n; o += 64) _mm_prefetch((const char *)(nx + o), _MM_HINT_T1);
        }
        for (int c = 0; c < 32; c++) off[c] = (int32_t)(rows[16 * (c / 16) + T.sigma[c % 16]] - rows[0]);
        __m512i idx[2] = {_mm512_loadu_si512(off), _mm512_loadu_si512(off + 16)};
        for (int b = 0; b < nb; b++) pack(&L, &T, (size_t)b * bb, idx, rows, buf + (size_t)b * L.stride);
        const int nc = j1 - p0 < 32 ? j1 - p0 : 32;
        const __mmask16 mk[2] = {(__mmask16)(nc >= 16 ? 0xFFFF : (1u << nc) - 1),
                                 (__mmask16)(nc >= 32 ? 0xFFFF : nc > 16 ? (1u << (nc - 16)) - 1 : 0)};
        for (int i0 = 0; i0 < X->M; i0 += RB) {
            const int R = X->M - i0 < RB ? X->M - i0 : RB;
            __m512 acc[RB][2];
            run[R - 1](&L, buf, nb, X, i0, acc);
            const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
            for (int r = 0; r < R; r++)
                for (int v = 0; v < 2; v++) {
                    float *o = C + (size_t)(i0 + r) * ldc + p0 + 16 * v;
                    __m512 s = _mm512_mul_ps(_mm512_permutexvar_ps(vsinv, acc[r][v]), va);   /* lanes to columns */
                    if (beta != 0.0f) s = _mm512_add_ps(s, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mk[v], o)));
                    _mm512_mask_storeu_ps(o, mk[v], s);
                }
        }
    }
    free(mem);
}

cl_q8_cols cl_q8_cols_avx512(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma"))
        return cols_avx512;
    return NULL;
}

#else
cl_q8_cols cl_q8_cols_avx512(void) { return NULL; }
#endif
