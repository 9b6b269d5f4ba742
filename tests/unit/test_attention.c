/* test_attention.c — the flash-style attention kernel (lib/attention.c, cl_attention_kv).
 *
 * 1. Against a naive attention written here in double (one query at a time, textbook softmax):
 *    random shapes with n_q and n_k not multiples of the 64-key block, GQA ratios 1..8, sliding
 *    windows (1, 17, 50, exactly 64, 300), explicit scales, head sizes 8..128 (the AVX-512 path
 *    needs head_dim % 16 == 0; 8 and 40 take the portable one), continuation of a cache
 *    (q_offset > 0), and K/V stored as f32, f16 and bf16.  The reference reads the stored values
 *    (rounded to the 16-bit type), so the tolerance measures the kernel alone:
 *    max |out - ref| / max |ref| < 1e-5.
 * 2. Bit-identical results (memcmp) whatever the split: one call vs the same rows in chunks that
 *    continue the cache (as chunked prefill calls it) vs one row at a time (decode), 1 vs 2 vs 3
 *    threads, and the portable kernels vs AVX-512 (when the CPU has it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"
#include "t.h"
#include "tensor.h"
#include "util.h"

static uint64_t rng = 0x243f6a8885a308d3ULL;
static float frand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* n values in the stored type t (f32 copy in f, stored bytes in st). */
static void make_kv(int n, cl_dtype t, float *f, void *st) {
    for (int i = 0; i < n; i++) {
        float x = frand();
        if (t == CL_F32) ((float *)st)[i] = f[i] = x;
        else if (t == CL_F16) f[i] = cl_f16_to_f32(((uint16_t *)st)[i] = cl_f32_to_f16(x));
        else f[i] = cl_bf16_to_f32(((uint16_t *)st)[i] = cl_f32_to_bf16(x));
    }
}

/* The textbook definition in double. */
static void naive(double *out, const float *q, int n_q, const float *k, const float *v, int n_k, int H, int KV,
                  int hd, int off, int window, double scale) {
    double *s = malloc((size_t)n_k * sizeof *s);
    for (int i = 0; i < n_q; i++)
        for (int h = 0; h < H; h++) {
            int g = h / (H / KV), p = off + i;
            int lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0, hi = p + 1 < n_k ? p + 1 : n_k;
            double mx = -1e300, sum = 0;
            for (int j = lo; j < hi; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++) d += (double)q[((size_t)i * H + h) * hd + e] * k[((size_t)j * KV + g) * hd + e];
                s[j] = d * scale;
                mx = fmax(mx, s[j]);
            }
            for (int j = lo; j < hi; j++) sum += s[j] = exp(s[j] - mx);
            for (int e = 0; e < hd; e++) {
                double o = 0;
                for (int j = lo; j < hi; j++) o += s[j] / sum * v[((size_t)j * KV + g) * hd + e];
                out[((size_t)i * H + h) * hd + e] = o;
            }
        }
    free(s);
}

typedef struct { int n_q, n_k, H, KV, hd, off, window; } shape;

static const char *tname(cl_dtype t) { return cl_dtype_name(t); }

static void test_reference(void) {
    static const shape c[] = {
        {1, 1, 2, 1, 16, 0, 0},          /* the first token */
        {70, 70, 4, 4, 16, 0, 0},        /* MHA prefill, 70 = 64 + 6 */
        {130, 200, 6, 2, 32, 70, 0},     /* GQA 3, a chunk continuing a cache */
        {200, 200, 8, 1, 16, 0, 50},     /* MQA, window 50 */
        {1, 1000, 16, 8, 128, 999, 0},   /* decode, Qwen3's heads */
        {100, 1000, 16, 8, 128, 900, 300},
        {65, 300, 4, 2, 8, 235, 0},      /* head_dim 8: the portable kernels */
        {33, 129, 8, 2, 48, 96, 17},     /* head_dim 48 = 3 vectors, window 17 */
        {300, 300, 2, 2, 80, 0, 64},     /* head_dim 80 = 4 + 1 vectors, window exactly one block */
        {5, 40, 4, 4, 16, 35, 1},        /* window 1: each query sees itself only */
        {40, 520, 16, 2, 40, 480, 0},    /* GQA 8, head_dim 40 (portable), keys past 8 blocks */
    };
    const cl_dtype types[] = {CL_F32, CL_F16, CL_BF16};
    for (size_t t = 0; t < sizeof c / sizeof c[0]; t++)
        for (int ti = 0; ti < 3; ti++) {
            shape s = c[t];
            int qd = s.H * s.hd, kvd = s.KV * s.hd;
            size_t nq = (size_t)s.n_q * qd, nk = (size_t)s.n_k * kvd;
            float *q = malloc(nq * sizeof *q), *o = malloc(nq * sizeof *o);
            float *kf = malloc(nk * sizeof *kf), *vf = malloc(nk * sizeof *vf);
            void *ks = malloc(nk * 4), *vs = malloc(nk * 4);
            double *ref = malloc(nq * sizeof *ref);
            for (size_t i = 0; i < nq; i++) q[i] = 3 * frand();   /* peaky softmax */
            make_kv((int)nk, types[ti], kf, ks);
            make_kv((int)nk, types[ti], vf, vs);
            float scale = (t % 2 ? 0.7f : 1.0f) / sqrtf((float)s.hd);
            naive(ref, q, s.n_q, kf, vf, s.n_k, s.H, s.KV, s.hd, s.off, s.window, scale);
            cl_attention_kv(o, qd, q, qd, s.n_q, ks, vs, types[ti], kvd, s.n_k, s.H, s.KV, s.hd, s.off, s.window,
                            scale);
            double mx = 1e-30, d = 0;
            for (size_t i = 0; i < nq; i++) mx = fmax(mx, fabs(ref[i])), d = fmax(d, fabs(o[i] - ref[i]));
            OK(d / mx < 1e-5, "n_q %d n_k %d heads %d/%d hd %d offset %d window %d, kv %s: rel err %.2g < 1e-5",
               s.n_q, s.n_k, s.H, s.KV, s.hd, s.off, s.window, tname(types[ti]), d / mx);
            free(q); free(o); free(kf); free(vf); free(ks); free(vs); free(ref);
        }
}

/* out = the rows of shape s computed in pieces: rows [cut[i], cut[i+1]), each call seeing the keys
 * present at that time (n_k = off + cut[i+1]), as chunked prefill and decode call it. */
static void pieces(float *out, const float *q, const void *k, const void *v, cl_dtype t, shape s, float scale,
                   const int *cut, int n_cut) {
    int qd = s.H * s.hd, kvd = s.KV * s.hd;
    for (int i = 0; i + 1 < n_cut; i++)
        cl_attention_kv(out + (size_t)cut[i] * qd, qd, q + (size_t)cut[i] * qd, qd, cut[i + 1] - cut[i], k, v, t, kvd,
                        s.off + cut[i + 1], s.H, s.KV, s.hd, s.off + cut[i], s.window, scale);
}

static void test_identical(void) {
    static const shape c[] = {
        {300, 400, 8, 4, 16, 100, 0},   /* tinystories' heads */
        {150, 150, 16, 8, 128, 0, 0},   /* Qwen3's */
        {200, 260, 6, 2, 48, 60, 37},   /* window */
        {90, 90, 4, 2, 8, 0, 0},        /* portable kernels */
    };
    const cl_dtype types[] = {CL_F32, CL_F16, CL_BF16};
    for (size_t t = 0; t < sizeof c / sizeof c[0]; t++) {
        shape s = c[t];
        cl_dtype ty = types[t % 3];
        int qd = s.H * s.hd, kvd = s.KV * s.hd;
        size_t nq = (size_t)s.n_q * qd, nk = (size_t)s.n_k * kvd, bytes = nq * sizeof(float);
        float *q = malloc(bytes), *kf = malloc(nk * 4), *vf = malloc(nk * 4);
        void *ks = malloc(nk * 4), *vs = malloc(nk * 4);
        float *one = malloc(bytes), *alt = malloc(bytes);
        for (size_t i = 0; i < nq; i++) q[i] = 3 * frand();
        make_kv((int)nk, ty, kf, ks);
        make_kv((int)nk, ty, vf, vs);
        float scale = 1.0f / sqrtf((float)s.hd);
        char what[160];
        snprintf(what, sizeof what, "n_q %d n_k %d heads %d/%d hd %d window %d kv %s", s.n_q, s.n_k, s.H, s.KV, s.hd,
                 s.window, tname(ty));
        cl_set_threads(1);
        int all[2] = {0, s.n_q};
        pieces(one, q, ks, vs, ty, s, scale, all, 2);
        int cut[5] = {0, 1, 64, 64 + (s.n_q - 64) / 2, s.n_q};   /* n_q > 65 */
        pieces(alt, q, ks, vs, ty, s, scale, cut, 5);
        OK(!memcmp(one, alt, bytes), "%s: chunks of 1, 63 and two halves: the same bits as one call", what);
        int *each = malloc((size_t)(s.n_q + 1) * sizeof *each);
        for (int i = 0; i <= s.n_q; i++) each[i] = i;
        pieces(alt, q, ks, vs, ty, s, scale, each, s.n_q + 1);
        OK(!memcmp(one, alt, bytes), "%s: one row at a time (decode): the same bits", what);
        free(each);
        for (int th = 2; th <= 3; th++) {
            cl_set_threads(th);
            pieces(alt, q, ks, vs, ty, s, scale, all, 2);
            OK(!memcmp(one, alt, bytes), "%s: %d threads: the same bits as 1", what, th);
        }
        cl_set_threads(1);
        cl_attention_use_portable(1);
        pieces(alt, q, ks, vs, ty, s, scale, cut, 5);
        cl_attention_use_portable(0);
        OK(!memcmp(one, alt, bytes), "%s: portable kernels: the same bits as the CPU's best", what);
        free(q); free(kf); free(vf); free(ks); free(vs); free(one); free(alt);
    }
}

/* Decode (one query, so at most 4 rows per task: the kernels that read the cache in place, per
 * group size 1..4 and type) against the portable kernels, bit for bit, at key counts that are not
 * multiples of 16 or of the 64-key block, and with a window. */
static void test_decode_kernels(void) {
    static const int n_ks[] = {1, 15, 16, 17, 63, 64, 65, 100, 130, 528};
    const cl_dtype types[] = {CL_F32, CL_F16, CL_BF16};
    cl_set_threads(1);
    for (int group = 1; group <= 4; group++)
        for (int ti = 0; ti < 3; ti++)
            for (size_t ki = 0; ki < sizeof n_ks / sizeof n_ks[0]; ki++) {
                int n_k = n_ks[ki], KV = 2, H = KV * group, hd = group == 2 ? 128 : 48;
                int window = ki % 3 == 2 ? 40 : 0;
                int qd = H * hd, kvd = KV * hd;
                size_t nk = (size_t)n_k * kvd, bytes = (size_t)qd * sizeof(float);
                float *q = malloc(bytes), *kf = malloc(nk * 4), *vf = malloc(nk * 4);
                void *ks = malloc(nk * 4), *vs = malloc(nk * 4);
                float *best = malloc(bytes), *port = malloc(bytes);
                for (int i = 0; i < qd; i++) q[i] = 3 * frand();
                make_kv((int)nk, types[ti], kf, ks);
                make_kv((int)nk, types[ti], vf, vs);
                float scale = 1.0f / sqrtf((float)hd);
                cl_attention_kv(best, qd, q, qd, 1, ks, vs, types[ti], kvd, n_k, H, KV, hd, n_k - 1, window, scale);
                cl_attention_use_portable(1);
                cl_attention_kv(port, qd, q, qd, 1, ks, vs, types[ti], kvd, n_k, H, KV, hd, n_k - 1, window, scale);
                cl_attention_use_portable(0);
                OK(!memcmp(best, port, bytes), "decode n_k %d heads %d/%d hd %d window %d kv %s: the same bits as portable",
                   n_k, H, KV, hd, window, tname(types[ti]));
                free(q); free(kf); free(vf); free(ks); free(vs); free(best); free(port);
            }
}

int main(void) {
    test_reference();
    test_identical();
    test_decode_kernels();
    return t_done();
}
