/* tensor.c — dtype names/sizes and conversion of F16/BF16/Q8_0 to f32 (see tensor.h). */
#include "tensor.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "quant.h"
#include "util.h"

static int cmp_name(const void *a, const void *b, void *ctx) {
    const cl_tensor *t = ctx;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

int *cl_tensor_index(const cl_tensor *t, int n, int *dup) {
    int *ix = cl_malloc((size_t)(n + 1) * sizeof *ix);
    for (int i = 0; i < n; i++) ix[i] = i;
    qsort_r(ix, (size_t)n, sizeof *ix, cmp_name, (void *)t);
    if (dup) {
        *dup = -1;
        for (int i = 1; i < n && *dup < 0; i++)
            if (!strcmp(t[ix[i]].name, t[ix[i - 1]].name)) *dup = ix[i];
    }
    return ix;
}

const cl_tensor *cl_tensor_index_find(const cl_tensor *t, const int *index, int n, const char *name) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(name, t[index[mid]].name);
        if (!c) return &t[index[mid]];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *cl_dtype_name(cl_dtype t) {
    switch (t) {
    case CL_F32: return "f32";
    case CL_F16: return "f16";
    case CL_BF16: return "bf16";
    case CL_Q4_0: return "q4_0";
    case CL_Q8_0: return "q8_0";
    case CL_Q4_K: return "q4_K";
    case CL_Q5_K: return "q5_K";
    case CL_Q6_K: return "q6_K";
    }
    return "unknown";
}

int cl_dtype_valid(int t) { return t >= 0 && cl_dtype_block((cl_dtype)t) > 0; }

int64_t cl_dtype_bytes(cl_dtype t, int64_t n) {
    if (n < 0) return cl_fail("negative element count %lld", (long long)n);
    const int be = cl_dtype_block(t), bs = cl_dtype_block_bytes(t);
    if (!be) return cl_fail("unknown dtype %d", (int)t);
    if (n % be) return cl_fail("%s: %lld elements is not a multiple of %d", cl_dtype_name(t), (long long)n, be);
    if (n / be > INT64_MAX / bs) return cl_fail("tensor too large");
    return n / be * bs;
}

int64_t cl_tensor_nelem(const cl_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE half <-> single, exact and branch-light (the method of Maratyszcza's FP16 library): the
 * float unit itself does the rounding (round to nearest even) and the subnormal handling. */
float cl_f16_to_f32(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const float normalized = bits_f32((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = bits_f32((two_w >> 17) | (126u << 23)) - 0.5f;
    const uint32_t r = sign | (two_w < (1u << 27) ? f32_bits(denormalized) : f32_bits(normalized));
    return bits_f32(r);
}

uint16_t cl_f32_to_f16(float f) {
    float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mant_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mant_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float cl_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t cl_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7FFFu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static inline uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int cl_quantize_q8_0(const float *x, int64_t n, void *out) { return cl_quantize(CL_Q8_0, x, n, out); }

/* Bulk f16 -> f32 by table (256 KiB, built once): several times the arithmetic conversion. */
static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;
static void f16_table_init(void) {
    for (uint32_t i = 0; i < 65536; i++) f16_table[i] = cl_f16_to_f32((uint16_t)i);
}

void cl_convert_to_f32(cl_dtype t, const void *src, int64_t first, int64_t n, float *out) {
    const uint8_t *s = src;
    switch (t) {
    case CL_F32:
        memcpy(out, s + first * 4, (size_t)n * 4);
        return;
    case CL_F16:
        s += first * 2;
        pthread_once(&f16_once, f16_table_init);
        for (int64_t i = 0; i < n; i++) out[i] = f16_table[load_u16(s + 2 * i)];
        return;
    case CL_BF16:
        s += first * 2;
        for (int64_t i = 0; i < n; i++) out[i] = cl_bf16_to_f32(load_u16(s + 2 * i));
        return;
    default: {   /* block formats: whole blocks straight into out, partial ones via a buffer */
        const int be = cl_dtype_block(t), bs = cl_dtype_block_bytes(t);
        float tmp[256];
        for (int64_t i = 0; i < n;) {
            int64_t e = first + i, blk = e / be;
            int j = (int)(e % be);
            if (j == 0 && n - i >= be) {
                int64_t nb = (n - i) / be;
                cl_dequant_blocks(t, s + blk * bs, nb, out + i);
                i += nb * be;
                continue;
            }
            cl_dequant_blocks(t, s + blk * bs, 1, tmp);
            for (; j < be && i < n; j++, i++) out[i] = tmp[j];
        }
        return;
    }
    }
}

int cl_tensor_to_f32(const cl_tensor *t, float *out) {
    int64_t n = cl_tensor_nelem(t);
    int64_t need = cl_dtype_bytes(t->dtype, n);
    if (need < 0) return cl_fail_prefix("%s", t->name ? t->name : "tensor");
    if ((uint64_t)need > t->nbytes)
        return cl_fail("%s: %zu bytes hold fewer than %lld %s elements", t->name ? t->name : "tensor",
                       t->nbytes, (long long)n, cl_dtype_name(t->dtype));
    cl_convert_to_f32(t->dtype, t->data, 0, n, out);
    return 0;
}
