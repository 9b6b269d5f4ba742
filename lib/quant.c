/* quant.c — GGML block formats: dequantisation and round-to-nearest quantisation (see quant.h). */
#include "quant.h"
#include <math.h>
#include <string.h>
#include "ops.h"
#include "util.h"

enum { QK = 32, QKK = 256 };

int cl_dtype_block(cl_dtype t) {
    switch (t) {
    case CL_F32: case CL_F16: case CL_BF16: return 1;
    case CL_Q4_0: case CL_Q8_0: return QK;
    case CL_Q4_K: case CL_Q5_K: case CL_Q6_K: return QKK;
    }
    return 0;
}

int cl_dtype_block_bytes(cl_dtype t) {
    switch (t) {
    case CL_F32: return 4;
    case CL_F16: case CL_BF16: return 2;
    case CL_Q4_0: return 18;
    case CL_Q8_0: return 34;
    case CL_Q4_K: return 144;
    case CL_Q5_K: return 176;
    case CL_Q6_K: return 210;
    }
    return 0;
}

static inline float f16(const uint8_t *p) { return cl_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static inline void put_f16(uint8_t *p, float f) {
    uint16_t h = cl_f32_to_f16(f);
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

static void deq_q4_0(const uint8_t *b, float *y) {
    const float d = f16(b);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b[2 + j] & 0xF) - 8) * d;
        y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
}

static void deq_q8_0(const uint8_t *b, float *y) {
    const float d = f16(b);
    for (int j = 0; j < QK; j++) y[j] = d * (float)(int8_t)b[2 + j];
}

/* q4_K (qh NULL) and q5_K: the same scales, 4 or 5 bits per element. */
static void deq_qk45(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
    const float d = f16(b), dmin = f16(b + 2);
    for (int c = 0; c < 4; c++) {
        int sc, m;
        cl_qk_scale_min(b + 4, 2 * c, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        cl_qk_scale_min(b + 4, 2 * c + 1, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) {
            int lo = qs[32 * c + l] & 0xF, hi = qs[32 * c + l] >> 4;
            if (qh) lo |= ((qh[l] >> (2 * c)) & 1) << 4, hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            y[64 * c + l] = d1 * (float)lo - m1;
            y[64 * c + 32 + l] = d2 * (float)hi - m2;
        }
    }
}

static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = f16(b + 208);
    for (int n = 0; n < 2; n++, ql += 64, qh += 32, sc += 8, y += 128)
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
}

void cl_dequant_blocks(cl_dtype t, const void *src, int64_t nb, float *out) {
    const uint8_t *b = src;
    const int bs = cl_dtype_block_bytes(t), be = cl_dtype_block(t);
    for (int64_t i = 0; i < nb; i++, b += bs, out += be) switch (t) {
        case CL_Q4_0: deq_q4_0(b, out); break;
        case CL_Q8_0: deq_q8_0(b, out); break;
        case CL_Q4_K: deq_qk45(b, NULL, b + 16, out); break;
        case CL_Q5_K: deq_qk45(b, b + 16, b + 48, out); break;
        case CL_Q6_K: deq_q6_k(b, out); break;
        default: return;
        }
}

/* ---- quantisation ---- */

static int clampi(long v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : (int)v; }

/* -1 after cl_fail where the f16 scale `what` = d of a block of format fmt, made from the block's
 * values `from` (a description and a value), rounds to inf in f16 (|d| >= 65520); 0 otherwise. */
static int scale_overflows(float d, const char *fmt, const char *what, const char *from, float v) {
    if (!isinf(cl_f16_to_f32(cl_f32_to_f16(d)))) return 0;
    return cl_fail("%s %g makes the %s scale %s %g, beyond f16 (max 65504)", from, (double)v, fmt, what, (double)d);
}

static int q_q8_0(const float *x, uint8_t *o) {
    float amax = 0;
    for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[i]));
    const float d = amax / 127.0f, id = cl_f16_scale_inv(d);
    if (scale_overflows(d, "q8_0", "d", "|x| max", amax)) return -1;
    put_f16(o, d);
    for (int i = 0; i < QK; i++) o[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    return 0;
}

static int q_q4_0(const float *x, uint8_t *o) {
    float amax = 0, max = 0;   /* the value of largest magnitude maps to -8 */
    for (int i = 0; i < QK; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), max = x[i];
    const float d = max / -8.0f, id = cl_f16_scale_inv(d);
    if (scale_overflows(d, "q4_0", "d", "largest-magnitude x", max)) return -1;
    put_f16(o, d);
    for (int j = 0; j < 16; j++) {
        int a = clampi(lrintf(x[j] * id) + 8, 0, 15), b = clampi(lrintf(x[j + 16] * id) + 8, 0, 15);
        o[2 + j] = (uint8_t)(a | b << 4);
    }
    return 0;
}

/* q4_K / q5_K (bits 4 or 5): per sub-block of 32 an affine grid min + k*scale, its scale and
 * -min stored as 6-bit multiples of d and dmin. */
static int q_qk45(const float *x, uint8_t *o, int bits) {
    const int top = (1 << bits) - 1;
    const char *fmt = bits == 5 ? "q5_K" : "q4_K";
    float scale[8], mn[8], dmax = 0, mmax = 0, range = 0;
    for (int j = 0; j < 8; j++) {
        float lo = 0, hi = 0;
        for (int i = 0; i < 32; i++) lo = fminf(lo, x[32 * j + i]), hi = fmaxf(hi, x[32 * j + i]);
        scale[j] = (hi - lo) / (float)top;
        mn[j] = -lo;
        if (scale[j] > dmax) dmax = scale[j], range = hi - lo;
        mmax = fmaxf(mmax, mn[j]);
    }
    if (scale_overflows(dmax / 63.0f, fmt, "d", "sub-block range max - min", range) ||
        scale_overflows(mmax / 63.0f, fmt, "dmin", "minimum", -mmax))
        return -1;
    const float d = cl_f16_to_f32(cl_f32_to_f16(dmax / 63.0f)), dmin = cl_f16_to_f32(cl_f32_to_f16(mmax / 63.0f));
    put_f16(o, d);
    put_f16(o + 2, dmin);
    uint8_t *s = o + 4, *qh = bits == 5 ? o + 16 : NULL, *qs = bits == 5 ? o + 48 : o + 16;
    memset(s, 0, 12);
    if (qh) memset(qh, 0, 32);
    for (int j = 0; j < 8; j++) {
        int sc = d > 0 ? clampi(lrintf(scale[j] / d), 0, 63) : 0;
        int m = dmin > 0 ? clampi(lrintf(mn[j] / dmin), 0, 63) : 0;
        if (j < 4) {
            s[j] |= (uint8_t)sc, s[j + 4] |= (uint8_t)m;
        } else {
            s[j + 4] = (uint8_t)((sc & 0xF) | (m & 0xF) << 4);
            s[j - 4] |= (uint8_t)((sc >> 4) << 6);
            s[j] |= (uint8_t)((m >> 4) << 6);
        }
        const float step = d * (float)sc, off = dmin * (float)m;
        int c = j / 2, hi = j & 1;
        for (int l = 0; l < 32; l++) {
            int q = step > 0 ? clampi(lrintf((x[32 * j + l] + off) / step), 0, top) : 0;
            uint8_t *p = &qs[32 * c + l];
            *p = hi ? (uint8_t)((*p & 0xF) | (q & 0xF) << 4) : (uint8_t)((*p & 0xF0) | (q & 0xF));
            if (qh) qh[l] |= (uint8_t)(((q >> 4) & 1) << (2 * c + hi));
        }
    }
    return 0;
}

static int q_q6_k(const float *x, uint8_t *o) {
    float scale[16], amax = 0, xmax = 0;
    for (int j = 0; j < 16; j++) {
        float a = 0;
        for (int i = 0; i < 16; i++) a = fmaxf(a, fabsf(x[16 * j + i]));
        scale[j] = a / 31.0f;
        amax = fmaxf(amax, scale[j]), xmax = fmaxf(xmax, a);
    }
    if (scale_overflows(amax / 127.0f, "q6_K", "d", "|x| max", xmax)) return -1;
    const float d = cl_f16_to_f32(cl_f32_to_f16(amax / 127.0f));
    uint8_t *ql = o, *qh = o + 128;
    int8_t *sc = (int8_t *)(o + 192);
    put_f16(o + 208, d);
    memset(o, 0, 192);
    int Q[QKK];
    for (int j = 0; j < 16; j++) {
        sc[j] = (int8_t)(d > 0 ? clampi(lrintf(scale[j] / d), -128, 127) : 0);
        const float step = d * (float)sc[j];
        for (int i = 0; i < 16; i++)
            Q[16 * j + i] = (step > 0 ? clampi(lrintf(x[16 * j + i] / step), -32, 31) : 0) + 32;
    }
    for (int n = 0; n < 2; n++, ql += 64, qh += 32)
        for (int l = 0; l < 32; l++) {
            const int *q = Q + 128 * n + l;
            ql[l] = (uint8_t)((q[0] & 0xF) | (q[64] & 0xF) << 4);
            ql[l + 32] = (uint8_t)((q[32] & 0xF) | (q[96] & 0xF) << 4);
            qh[l] = (uint8_t)((q[0] >> 4) | (q[32] >> 4) << 2 | (q[64] >> 4) << 4 | (q[96] >> 4) << 6);
        }
    return 0;
}

/* f16 / bf16 (f32 copied): finite values that round to inf are refused, inf and nan kept. */
static int encode_16(cl_dtype t, const float *x, int64_t n, uint16_t *h) {
    for (int64_t i = 0; i < n; i++) {
        h[i] = t == CL_F16 ? cl_f32_to_f16(x[i]) : cl_f32_to_bf16(x[i]);
        if (isfinite(x[i]) && (h[i] & 0x7FFF) == (t == CL_F16 ? 0x7C00 : 0x7F80))
            return cl_fail("element %lld is %g, beyond %s (max %s)", (long long)i, (double)x[i], cl_dtype_name(t),
                           t == CL_F16 ? "65504" : "3.3895e+38");
    }
    return 0;
}

int cl_quantize(cl_dtype t, const float *x, int64_t n, void *out) {
    if (t == CL_F32) return memcpy(out, x, (size_t)n * sizeof *x), 0;
    if (t == CL_F16 || t == CL_BF16) return encode_16(t, x, n, out);
    uint8_t *o = out;
    const int be = cl_dtype_block(t), bs = cl_dtype_block_bytes(t);
    if (n % be)   /* a tail shorter than a block has nowhere to go: refused, never dropped */
        return cl_fail("%lld elements are not whole %s blocks of %d", (long long)n, cl_dtype_name(t), be);
    for (int64_t i = 0; i + be <= n; i += be, x += be, o += bs) {
        size_t j = cl_first_nonfinite(x, (size_t)be);
        if (j < (size_t)be)
            return cl_fail("element %lld is %g: %s holds finite values only", (long long)(i + (int64_t)j), (double)x[j],
                           cl_dtype_name(t));
        int rc = -1;
        switch (t) {
        case CL_Q4_0: rc = q_q4_0(x, o); break;
        case CL_Q8_0: rc = q_q8_0(x, o); break;
        case CL_Q4_K: rc = q_qk45(x, o, 4); break;
        case CL_Q5_K: rc = q_qk45(x, o, 5); break;
        case CL_Q6_K: rc = q_q6_k(x, o); break;
        default: return cl_fail("cannot encode %s", cl_dtype_name(t));
        }
        if (rc) return cl_fail_prefix("elements %lld..%lld", (long long)i, (long long)(i + be - 1));
    }
    return 0;
}
