/* gemm_fixed.c — the fixed-order matrix product (see gemm_fixed.h).
 *
 * Layout: op(B) is copied, a panel of W columns at a time, into Bp[k][W] (zero beyond column N);
 * a tile of MR rows x W columns keeps its MR x W accumulators in vector registers and runs
 * k = 0 .. K-1 in order, one FMA per element per k (A's element broadcast, a row of the panel
 * loaded); then every element goes through the same epilogue: put(), or its vector form (the same
 * two IEEE operations per element, masked on AVX-512).  Rows beyond the last full tile go one at a
 * time, columns of a last narrow panel use one vector instead of two: the per-element arithmetic
 * is the same in every case, which is the whole point. */
#include "gemm_fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CL_X86 1
#endif

typedef struct {
    int M, N, K;
    float alpha, beta;
    const float *A;
    size_t ars, acs;   /* op(A)[i][k] = A[i * ars + k * acs] */
    const float *B;
    size_t brs, bcs;   /* op(B)[k][j] = B[k * brs + j * bcs] */
    float *C;
    size_t ldc;
} gemm_args;

/* The one epilogue: C = alpha * acc (beta 0: C is not read) or fma(alpha, acc, beta * C). */
static inline __attribute__((always_inline)) void put(float *c, float acc, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * acc : fmaf(alpha, acc, beta * *c);
}

/* Columns j0 .. j0+nc-1 of op(B) into Bp[k][W], zero-padded to W. */
static void pack_panel(const gemm_args *g, int j0, int nc, int W, float *Bp) {
    for (int k = 0; k < g->K; k++) {
        const float *b = g->B + (size_t)k * g->brs + (size_t)j0 * g->bcs;
        float *d = Bp + (size_t)k * W;
        int jj = 0;
        if (g->bcs == 1) memcpy(d, b, (size_t)nc * sizeof *d), jj = nc;
        else
            for (; jj < nc; jj++) d[jj] = b[(size_t)jj * g->bcs];
        for (; jj < W; jj++) d[jj] = 0.0f;
    }
}

/* A tile's accumulators acc[r][jj] (row stride W) through the epilogue into C. */
static inline __attribute__((always_inline)) void store_tile(const gemm_args *g, const float *acc, int W, int i0,
                                                             int mr, int j0, int nc) {
    for (int r = 0; r < mr; r++) {
        float *c = g->C + (size_t)(i0 + r) * g->ldc + j0;
        for (int jj = 0; jj < nc; jj++) put(c + jj, acc[r * W + jj], g->alpha, g->beta);
    }
}

/* tile(g, Bp, W, i0, mr, j0, nc): rows i0 .. i0+mr-1 (mr is the variant's MR, or 1), columns j0 ..
 * j0+nc-1 of panel Bp (width W: the variant's two-vector width, or one vector). */
typedef void (*tile_fn)(const gemm_args *g, const float *Bp, int i0, int j0, int nc);

typedef struct {
    const char *name;
    int VW, MR;               /* floats per vector; rows per full tile */
    tile_fn tile[2][2];       /* [full MR ? 1 : 0][two vectors ? 1 : 0] */
    int (*supported)(void);
} isa;

/* ---- scalar: MR 4, "vectors" of 8 floats ---- */
#define SC_VW 8
#define SC_MR 4
static inline __attribute__((always_inline)) void tile_scalar(const gemm_args *g, const float *Bp, int i0,
                                                              int j0, int nc, const int MR, const int NV) {
    float acc[SC_MR * 2 * SC_VW];
    const int W = NV * SC_VW;
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < g->K; k++) {
        const float *b = Bp + (size_t)k * W;
        for (int r = 0; r < MR; r++) {
            float a = g->A[(size_t)(i0 + r) * g->ars + (size_t)k * g->acs];
            for (int jj = 0; jj < W; jj++) acc[r * W + jj] = fmaf(a, b[jj], acc[r * W + jj]);
        }
    }
    store_tile(g, acc, W, i0, MR, j0, nc);
}
static void sc_11(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_scalar(g, Bp, i0, j0, nc, SC_MR, 2); }
static void sc_10(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_scalar(g, Bp, i0, j0, nc, SC_MR, 1); }
static void sc_01(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_scalar(g, Bp, i0, j0, nc, 1, 2); }
static void sc_00(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_scalar(g, Bp, i0, j0, nc, 1, 1); }
static int always(void) { return 1; }

#ifdef CL_X86
/* The accumulation of every vector tile (in a tile function with g, Bp, i0, MR and NV): declares
 * acc[MRMAX][2] of vector type T and W = NV * VW, and runs k = 0 .. K-1 in order with
 * acc[r][v] = FMA(BCAST(&A[i0 + r][k]), LOAD(&Bp[k][VW v]), acc[r][v]); ZERO is the zero vector.
 * One loop for every ISA, so their tiles cannot drift apart. */
#define TILE_ACCUMULATE(T, VW, MRMAX, ZERO, LOAD, BCAST, FMA)                                              \
    T acc[MRMAX][2];                                                                                        \
    const int W = NV * (VW);                                                                                \
    _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)                                                  \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] = ZERO;                            \
    const float *a = g->A + (size_t)i0 * g->ars;                                                            \
    for (int k = 0; k < g->K; k++, a += g->acs) {                                                          \
        T b[2];                                                                                             \
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) b[v] = LOAD(Bp + (size_t)k * W + (VW) * v);  \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) {                                            \
            T x = BCAST(a + (size_t)r * g->ars);                                                            \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] = FMA(x, b[v], acc[r][v]);     \
        }                                                                                                   \
    }

/* ---- AVX2 + FMA: MR 6 x 2 vectors of 8 (12 accumulators of 16 registers) ---- */
#define AVX2 __attribute__((target("avx2,fma")))
#define A2_MR 6
static inline __attribute__((always_inline)) AVX2 void tile_avx2(const gemm_args *g, const float *Bp, int i0,
                                                                  int j0, int nc, const int MR, const int NV) {
    TILE_ACCUMULATE(__m256, 8, A2_MR, _mm256_setzero_ps(), _mm256_loadu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps);
    if (nc == W) {   /* the epilogue in vector registers: the same operations as put() */
        __m256 al = _mm256_set1_ps(g->alpha), be = _mm256_set1_ps(g->beta);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++)
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) {
                float *c = g->C + (size_t)(i0 + r) * g->ldc + j0 + 8 * v;
                _mm256_storeu_ps(c, g->beta == 0.0f ? _mm256_mul_ps(al, acc[r][v])
                                                    : _mm256_fmadd_ps(al, acc[r][v], _mm256_mul_ps(be, _mm256_loadu_ps(c))));
            }
        return;
    }
    float out[A2_MR * 16];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(out + r * W + 8 * v, acc[r][v]);
    store_tile(g, out, W, i0, MR, j0, nc);
}
AVX2 static void a2_11(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx2(g, Bp, i0, j0, nc, A2_MR, 2); }
AVX2 static void a2_10(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx2(g, Bp, i0, j0, nc, A2_MR, 1); }
AVX2 static void a2_01(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx2(g, Bp, i0, j0, nc, 1, 2); }
AVX2 static void a2_00(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx2(g, Bp, i0, j0, nc, 1, 1); }
static int has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* ---- AVX-512F: MR 12 x 2 vectors of 16 (24 accumulators of 32 registers) ---- */
#define AVX512 __attribute__((target("avx512f")))
#define A5_MR 12
#define A5_BCAST(p) _mm512_set1_ps(*(p))
static inline __attribute__((always_inline)) AVX512 void tile_avx512(const gemm_args *g, const float *Bp, int i0,
                                                                      int j0, int nc, const int MR, const int NV) {
    TILE_ACCUMULATE(__m512, 16, A5_MR, _mm512_setzero_ps(), _mm512_loadu_ps, A5_BCAST, _mm512_fmadd_ps);
    /* the epilogue in vector registers, masked to the tile's columns: the same operations as put() */
    __m512 al = _mm512_set1_ps(g->alpha), be = _mm512_set1_ps(g->beta);
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        int left = nc - 16 * v;
        __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            float *c = g->C + (size_t)(i0 + r) * g->ldc + j0 + 16 * v;
            __m512 y = g->beta == 0.0f ? _mm512_mul_ps(al, acc[r][v])
                                       : _mm512_fmadd_ps(al, acc[r][v], _mm512_mul_ps(be, _mm512_maskz_loadu_ps(mk, c)));
            _mm512_mask_storeu_ps(c, mk, y);
        }
    }
}
AVX512 static void a5_11(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx512(g, Bp, i0, j0, nc, A5_MR, 2); }
AVX512 static void a5_10(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx512(g, Bp, i0, j0, nc, A5_MR, 1); }
AVX512 static void a5_01(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx512(g, Bp, i0, j0, nc, 1, 2); }
AVX512 static void a5_00(const gemm_args *g, const float *Bp, int i0, int j0, int nc) { tile_avx512(g, Bp, i0, j0, nc, 1, 1); }
static int has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
#endif

/* Best first. */
static const isa isas[] = {
#ifdef CL_X86
    {"avx512f", 16, A5_MR, {{a5_00, a5_01}, {a5_10, a5_11}}, has_avx512},
    {"avx2", 8, A2_MR, {{a2_00, a2_01}, {a2_10, a2_11}}, has_avx2},
#endif
    {"scalar", SC_VW, SC_MR, {{sc_00, sc_01}, {sc_10, sc_11}}, always},
};
enum { N_ISA = sizeof isas / sizeof isas[0] };

static _Atomic(const isa *) chosen;

static const isa *best(void) {
    for (int i = 0; i < N_ISA; i++)
        if (isas[i].supported()) return &isas[i];
    return &isas[N_ISA - 1];
}

static const isa *current(void) {
    const isa *s = chosen;
    if (!s) chosen = s = best();
    return s;
}

const char *cl_gemm_fixed_isa(void) { return current()->name; }

int cl_gemm_fixed_use(const char *name) {
    if (!name) {
        chosen = best();
        return 0;
    }
    for (int i = 0; i < N_ISA; i++)
        if (!strcmp(isas[i].name, name)) {
            if (!isas[i].supported()) return -1;
            chosen = &isas[i];
            return 0;
        }
    return -1;
}

void cl_gemm_fixed(int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    const isa *s = current();
    gemm_args g = {.M = M, .N = N, .K = K < 0 ? 0 : K, .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C,
                   .ldc = (size_t)ldc};
    g.ars = trans_a ? 1 : (size_t)lda;
    g.acs = trans_a ? (size_t)lda : 1;
    g.brs = trans_b ? 1 : (size_t)ldb;
    g.bcs = trans_b ? (size_t)ldb : 1;
    int W2 = 2 * s->VW;
    float stack[4096];   /* small products (attention, LoRA) need no allocation */
    float *Bp = (size_t)g.K * W2 <= 4096 ? stack : cl_malloc(((size_t)g.K * W2 + 1) * sizeof *Bp);
    for (int j0 = 0; j0 < N; j0 += W2) {
        int nc = N - j0 < W2 ? N - j0 : W2, two = nc > s->VW;
        pack_panel(&g, j0, nc, two ? W2 : s->VW, Bp);
        int i0 = 0;
        for (; i0 + s->MR <= M; i0 += s->MR) s->tile[1][two](&g, Bp, i0, j0, nc);
        for (; i0 < M; i0++) s->tile[0][two](&g, Bp, i0, j0, nc);
    }
    if (Bp != stack) free(Bp);
}
