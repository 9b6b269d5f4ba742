/* mat_q8.c — activation quantisation, the portable integer kernel and the dispatch (see mat_q8.h). */
#include "mat_q8.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"
#include "quant.h"
#include "tensor.h"
#include "util.h"
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

int cl_q8_supports(cl_dtype t) {
    return t == CL_Q8_0 || t == CL_Q4_0 || t == CL_Q4_K || t == CL_Q5_K || t == CL_Q6_K;
}

static int all_finite(const float *x, int n) {
    int ok = 1;
    for (int j = 0; j < n; j++) ok &= isfinite(x[j]) != 0;
    return ok;
}

/* quantize_row_q8_0_ref: one block of 32 (inf/nan in: scale nan, so nan out as in f32) */
static void quant_q8_0(const float *x, int8_t *q, float *d) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    if (!all_finite(x, 32)) {
        memset(q, 0, 32), *d = NAN;
        return;
    }
    const float dd = amax / 127.0f, id = cl_f16_scale_inv(dd);   /* 0 where 1/dd overflows (quant.h) */
    *d = cl_q8_0_act_scale(dd);
    for (int j = 0; j < 32; j++) q[j] = (int8_t)roundf(x[j] * id);
}

/* quantize_row_q8_K_ref: one block of 256 */
static void quant_q8_k(const float *x, int8_t *q, float *d) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 256; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    if (amax == 0.0f || !all_finite(x, 256)) {
        memset(q, 0, 256), *d = all_finite(x, 256) ? 0.0f : NAN;
        return;
    }
    float iscale, pre;
    cl_q8_k_scale(max, &iscale, &pre);
    for (int j = 0; j < 256; j++) {
        long v = lrintf(iscale * (x[j] * pre));
        q[j] = (int8_t)(v > 127 ? 127 : v);
    }
    *d = 1.0f / iscale / pre;
}

/* The portable row quantisers (cl_q8_quant): blocks, then the sums per 16. */
static void sums16(const int8_t *q, int K, int16_t *bs) {
    for (int g = 0; g < K / 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += q[16 * g + l];
        bs[g] = (int16_t)s;
    }
}
static void row_q8_0(const float *x, int K, int8_t *q, float *d, int16_t *bs) {
    for (int b = 0; b < K / 32; b++) quant_q8_0(x + 32 * b, q + 32 * b, d + b);
    sums16(q, K, bs);
}
static void row_q8_k(const float *x, int K, int8_t *q, float *d, int16_t *bs) {
    for (int b = 0; b < K / 256; b++) quant_q8_k(x + 256 * b, q + 256 * b, d + b);
    sums16(q, K, bs);
}

cl_q8_quant cl_q8_quant_generic(int kb) { return kb == 32 ? row_q8_0 : row_q8_k; }

static int kernel_cap(void);

typedef struct {
    cl_q8act *X;
    cl_q8_quant f;
    int trans_a, lda;
    const float *A;
} act_job;

/* Rows lo..hi-1 of op(A) into X (rows are independent: any split gives the same bytes). */
static void act_rows(void *vj, int lo, int hi) {
    const act_job *J = vj;
    cl_q8act *X = J->X;
    const int K = X->K, kb = X->kb;
    float *row = J->trans_a ? cl_malloc((size_t)K * sizeof *row) : NULL;
    for (int i = lo; i < hi; i++) {
        const float *x = J->A + (size_t)i * J->lda;
        if (J->trans_a) {
            for (int k = 0; k < K; k++) row[k] = J->A[(size_t)k * J->lda + i];
            x = row;
        }
        J->f(x, K, X->q + (size_t)i * K, X->d + (size_t)i * (K / kb), X->bs + (size_t)i * (K / 16));
    }
    free(row);
}

void cl_q8act_make(cl_q8act *X, cl_dtype t, int trans_a, int M, int K, const float *A, int lda) {
    int kb = cl_dtype_block(t) == 256 ? 256 : 32;
    X->M = M, X->K = K, X->kb = kb;
    X->q = cl_malloc((size_t)M * K + 64);
    X->d = cl_malloc((size_t)M * (K / kb) * sizeof *X->d + 1);
    X->bs = cl_malloc((size_t)M * (K / 16) * sizeof *X->bs + 1);
    cl_q8_quant f = kernel_cap() >= 2 ? cl_q8_quant_avx512(kb) : NULL;
    act_job J = {X, f ? f : cl_q8_quant_generic(kb), trans_a, lda, A};
    /* prefill: rows on the pool, ~32k elements a thread at least */
    cl_parallel_for(M, K >= 32768 ? 1 : 32768 / K, act_rows, &J);
}

void cl_q8act_free(cl_q8act *X) {
    free(X->q), free(X->d), free(X->bs);
    memset(X, 0, sizeof *X);
}

static inline float h2f(const uint8_t *p) { return cl_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* The weight value q (as stored, before any offset) of element e of a block of t. */
static inline int wq(cl_dtype t, const uint8_t *b, int e) {
    switch (t) {
    case CL_Q8_0: return (int8_t)b[2 + e];
    case CL_Q4_0: return e < 16 ? b[2 + e] & 15 : b[2 + e - 16] >> 4;
    case CL_Q4_K: case CL_Q5_K: {
        const uint8_t *qs = b + (t == CL_Q5_K ? 48 : 16);
        int c = e / 64, l = e % 32, hi = (e / 32) & 1;
        int v = hi ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 15;
        if (t == CL_Q5_K) v |= ((b[16 + l] >> (2 * c + hi)) & 1) << 4;
        return v;
    }
    case CL_Q6_K: {
        int n = e / 128, r = e % 128, t4 = r / 32, l = r % 32;
        const uint8_t *ql = b + 64 * n, *qh = b + 128 + 32 * n;
        int lo = t4 & 1 ? ql[l + 32] : ql[l];
        lo = t4 >= 2 ? lo >> 4 : lo & 15;
        return lo | ((qh[l] >> (2 * t4)) & 3) << 4;
    }
    default: return 0;
    }
}

/* Integer dot product of n weight values with n activations (a loop the compiler vectorises). */
static inline int idot(const int8_t *w, const int8_t *a, int n) {
    int s = 0;
    for (int e = 0; e < n; e++) s += w[e] * a[e];
    return s;
}

/* Columns j0..j1-1: each weight block unpacked once to signed values (q8_0 q, q4_0 q - 8, q4_K and
 * q5_K q, q6_K q - 32), then mat_q8.h's sequence for every activation row, blocks in order. */
void cl_q8_cols_generic(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta,
                        float *C, int ldc) {
    const cl_dtype t = W->dtype;
    const int K = X->K, kb = X->kb, nb = K / kb, bb = cl_dtype_block_bytes(t), M = X->M;
    float *acc = cl_malloc((size_t)M * sizeof *acc + 1);
    int8_t wv[256];
    for (int j = j0; j < j1; j++) {
        const uint8_t *w = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        for (int i = 0; i < M; i++) acc[i] = 0.0f;
        for (int b = 0; b < nb; b++, w += bb) {
            const int z = t == CL_Q4_0 ? 8 : t == CL_Q6_K ? 32 : 0;
            for (int e = 0; e < kb; e++) wv[e] = (int8_t)(wq(t, w, e) - z);
            const float dw = h2f(t == CL_Q6_K ? w + 208 : w), dmin = kb == 256 && t != CL_Q6_K ? h2f(w + 2) : 0.0f;
            int sc[16], mn[8];
            if (t == CL_Q6_K)
                for (int g = 0; g < 16; g++) sc[g] = (int8_t)w[192 + g];
            else if (kb == 256)
                for (int k = 0; k < 8; k++) cl_qk_scale_min(w + 4, k, &sc[k], &mn[k]);
            for (int i = 0; i < M; i++) {
                const int8_t *a = X->q + (size_t)i * K + (size_t)b * kb;
                const int16_t *bs = X->bs + (size_t)i * (K / 16) + (size_t)b * (kb / 16);
                const float da = X->d[(size_t)i * nb + b];
                if (t == CL_Q8_0 || t == CL_Q4_0) {
                    acc[i] = fmaf((float)idot(wv, a, 32), dw * da, acc[i]);
                } else if (t == CL_Q6_K) {
                    int sumi = 0;
                    for (int g = 0; g < 16; g++) sumi += sc[g] * idot(wv + 16 * g, a + 16 * g, 16);
                    acc[i] = fmaf((float)sumi, dw * da, acc[i]);
                } else {   /* q4_K, q5_K */
                    int sumi = 0, summ = 0;
                    for (int k = 0; k < 8; k++) {
                        sumi += sc[k] * idot(wv + 32 * k, a + 32 * k, 32);
                        summ += mn[k] * (bs[2 * k] + bs[2 * k + 1]);
                    }
                    acc[i] = fmaf((float)sumi, dw * da, acc[i]);
                    acc[i] = fmaf((float)summ, -(dmin * da), acc[i]);
                }
            }
        }
        for (int i = 0; i < M; i++) {
            float *o = C + (size_t)i * ldc + j;
            *o = cl_q8_out(acc[i], alpha, beta, *o);
        }
    }
    free(acc);
}

/* CL_KERNELS: "generic" or "avx2" caps the family; anything else (or unset) takes the best. */
static _Atomic int cap_seen = -1;
static int kernel_cap(void) {
    int c = cap_seen;
    if (c < 0) {   /* a race only reads the same variable twice */
        const char *e = getenv("CL_KERNELS");
        cap_seen = c = e && !strcmp(e, "generic") ? 0 : e && !strcmp(e, "avx2") ? 1 : 2;
    }
    return c;
}

static cl_q8_cols pick(const char **isa) {
    int cap = kernel_cap();
    cl_q8_cols f;
    if (cap >= 2 && (f = cl_q8_cols_avx512())) return *isa = "avx512-vnni", f;
    if (cap >= 1 && (f = cl_q8_cols_avx2())) return *isa = "avx2", f;
    return *isa = "generic", cl_q8_cols_generic;
}

static _Atomic(cl_q8_cols) chosen_f;
static _Atomic(const char *) chosen_isa;
static cl_q8_cols chosen(void) {
    cl_q8_cols f = chosen_f;
    if (!f) {   /* a race only repeats the same choice */
        const char *isa;
        f = pick(&isa);
        chosen_isa = isa;
        chosen_f = f;
    }
    return f;
}

const char *cl_q8_isa(void) {
    chosen();
    return chosen_isa;
}

typedef struct {
    const cl_q8act *X;
    const cl_mat *W;
    float alpha, beta, *C;
    int ldc, N;
    cl_q8_cols f;
} q8_job;

/* Work units of 32 columns (the vector kernels' panel). */
static void q8_range(void *vj, int lo, int hi) {
    const q8_job *J = vj;
    int j1 = 32 * hi < J->N ? 32 * hi : J->N;
    J->f(J->X, J->W, 32 * lo, j1, J->alpha, J->beta, J->C, J->ldc);
}

void cl_q8_gemm(const cl_q8act *X, const cl_mat *W, int N, float alpha, float beta, float *C, int ldc) {
    q8_job J = {X, W, alpha, beta, C, ldc, N, chosen()};
    int units = (N + 31) / 32;
    /* a unit is 32 x K multiply-adds per row of X: ask for ~64k per thread at least */
    long per = 32L * X->K * (X->M > 0 ? X->M : 1);
    int grain = per >= 65536 ? 1 : (int)(65536 / per);
    cl_parallel_for(units, grain, q8_range, &J);
}

#if !(defined(__x86_64__) && defined(__GNUC__))
cl_q8_cols cl_q8_cols_avx2(void) { return NULL; }
#endif
