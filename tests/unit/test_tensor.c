/* test_tensor — f16/bf16 conversions against IEEE bit patterns worked out by hand and an
 * exhaustive check of every rounding midpoint; Q8_0 against ggml's block layout and error bound. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "t.h"
#include "tensor.h"
#include "util.h"

static float bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_f16_known(void) {
    static const struct { float f; uint16_t h; } k[] = {
        {0.0f, 0x0000},        {-0.0f, 0x8000},         {1.0f, 0x3C00},          {-2.0f, 0xC000},
        {0.5f, 0x3800},        {65504.0f, 0x7BFF},      {0x1p-14f, 0x0400},      {0x1p-24f, 0x0001},
        {0x1p-25f, 0x0000},    /* half the smallest subnormal: tie to even (0) */
        {0x3p-25f, 0x0002},    /* 1.5 subnormal ulps: tie to even (2) */
        {1.0f + 0x1p-11f, 0x3C00}, /* tie between 0x3C00 and 0x3C01: even */
        {1.0f + 0x3p-11f, 0x3C02}, /* tie between 0x3C01 and 0x3C02: even */
        {65520.0f, 0x7C00},    /* halfway to 2^16 rounds to infinity */
        {1e10f, 0x7C00},       {-1e10f, 0xFC00},        {0.333333343f, 0x3555},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof k / sizeof *k; i++)
        if (cl_f32_to_f16(k[i].f) != k[i].h) {
            ok = 0;
            printf("# f32->f16 %a: got %04x want %04x\n", (double)k[i].f, cl_f32_to_f16(k[i].f), k[i].h);
        }
    OK(ok, "f32 -> f16 known bit patterns (ties to even, subnormals, overflow)");
    OK(cl_f32_to_f16(INFINITY) == 0x7C00 && cl_f32_to_f16(-INFINITY) == 0xFC00, "f16 infinities");
    OK((cl_f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (cl_f32_to_f16(NAN) & 0x3FF), "f16 NaN stays NaN");
    OK(cl_f16_to_f32(0x3555) == 0.333251953125f && cl_f16_to_f32(0x0001) == 0x1p-24f &&
           cl_f16_to_f32(0x7BFF) == 65504.0f && cl_f16_to_f32(0xC000) == -2.0f && cl_f16_to_f32(0x03FF) == 0x3FFp-24f,
       "f16 -> f32 known values");
    OK(isinf(cl_f16_to_f32(0x7C00)) && isnan(cl_f16_to_f32(0x7E01)) && signbit(cl_f16_to_f32(0x8000)),
       "f16 -> f32 inf, nan, -0");
}

/* Value of a finite f16 pattern computed from its fields (independent of the code under test). */
static double f16_value(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return h & 0x8000 ? -v : v;
}

static void test_f16_exhaustive(void) {
    int rt = 1, mid = 1, val = 1;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00) continue; /* inf/nan */
        float f = cl_f16_to_f32((uint16_t)h);
        if ((double)f != f16_value((uint16_t)h)) val = 0;
        if (cl_f32_to_f16(f) != h) rt = 0;
        /* midpoint to the next pattern of the same sign, and the floats just around it */
        uint16_t n = (uint16_t)(h + 1);
        if ((h & 0x7FFF) == 0x7BFF) continue; /* next is infinity */
        float a = (float)((f16_value((uint16_t)h) + f16_value(n)) / 2); /* exact in f32 */
        uint16_t even = (h & 1) ? n : (uint16_t)h;
        if (cl_f32_to_f16(a) != even || cl_f32_to_f16(nextafterf(a, 0)) != h ||
            cl_f32_to_f16(nextafterf(a, (h & 0x8000) ? -INFINITY : INFINITY)) != n)
            mid = 0;
    }
    OK(val, "every finite f16 decodes to its exact value");
    static uint16_t all[65536];
    static float bulk[65536];
    for (uint32_t h = 0; h < 65536; h++) all[h] = (uint16_t)h;
    cl_convert_to_f32(CL_F16, all, 0, 65536, bulk);
    int same = 1;
    for (uint32_t h = 0; h < 65536; h++) {
        float one = cl_f16_to_f32((uint16_t)h);
        same &= !memcmp(&one, &bulk[h], 4);
    }
    OK(same, "bulk f16 conversion (table) is bit-identical to the scalar one for all 65536 patterns");
    OK(rt, "every finite f16 round-trips through f32");
    OK(mid, "every f16 rounding midpoint rounds to even, and the floats beside it to the nearer");
}

static void test_bf16(void) {
    OK(cl_f32_to_bf16(1.0f) == 0x3F80 && cl_f32_to_bf16(-2.0f) == 0xC000 && cl_f32_to_bf16(0x1p-133f) == 0x0001,
       "bf16 known patterns");
    OK(cl_f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80 && cl_f32_to_bf16(1.0f + 0x3p-8f) == 0x3F82, "bf16 ties to even");
    OK(cl_f32_to_bf16(bits(0x7F7FFFFF)) == 0x7F80, "bf16: FLT_MAX rounds to infinity");
    OK((cl_f32_to_bf16(NAN) & 0x7F80) == 0x7F80 && (cl_f32_to_bf16(NAN) & 0x7F), "bf16 NaN stays NaN");
    OK(cl_bf16_to_f32(0x3F80) == 1.0f && cl_bf16_to_f32(0x4049) == 3.140625f, "bf16 -> f32");
    int ok = 1;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7F80) == 0x7F80) continue;
        uint32_t lo = h << 16, up = lo + 0x10000;
        if ((h & 0x7FFF) == 0x7F7F) continue;
        uint32_t midb = lo + 0x8000; /* the midpoint in f32 bits (same sign) */
        uint16_t even = (h & 1) ? (uint16_t)(up >> 16) : (uint16_t)h;
        if (cl_f32_to_bf16(bits(lo)) != h || cl_f32_to_bf16(bits(midb)) != even ||
            cl_f32_to_bf16(bits(midb - 1)) != h || cl_f32_to_bf16(bits(midb + 1)) != (uint16_t)(up >> 16))
            ok = 0;
    }
    OK(ok, "every bf16 round-trips and every midpoint rounds to even");
}

static void test_q8_0(void) {
    float x[64], y[64];
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16); /* amax 16 */
    for (int i = 32; i < 64; i++) x[i] = 0;
    uint8_t q[68];
    cl_quantize_q8_0(x, 64, q);
    uint16_t d;
    memcpy(&d, q, 2);
    OK(d == cl_f32_to_f16(16.0f / 127.0f), "block scale = f16(amax/127) in the first 2 bytes");
    OK((int8_t)q[2] == -127 && (int8_t)q[2 + 16] == 0 && (int8_t)q[2 + 31] == 119 && (int8_t)q[2 + 24] == 64,
       "quants round(x*127/amax): -16 -> -127, 0 -> 0, 15 -> 119, 8 -> 64 (63.5 rounds away from 0)");
    OK(q[34] == 0 && q[35] == 0 && q[36] == 0, "zero block: scale 0, quants 0");
    OK(cl_dtype_bytes(CL_Q8_0, 64) == 68 && cl_dtype_bytes(CL_Q8_0, 33) < 0 && cl_dtype_bytes(CL_BF16, 3) == 6,
       "dtype byte sizes");
    cl_convert_to_f32(CL_Q8_0, q, 0, 64, y);
    float dd = cl_f16_to_f32(d);
    int ok = 1;
    for (int i = 0; i < 64; i++) ok &= y[i] == (i < 32 ? dd * (float)(int8_t)q[2 + i] : 0.0f);
    OK(ok, "dequant = d * q");
    float z[5];
    cl_convert_to_f32(CL_Q8_0, q, 30, 5, z); /* spans the block boundary */
    OK(z[0] == y[30] && z[1] == y[31] && z[2] == 0 && z[4] == 0, "dequant from an offset inside a block");
    /* pseudo-random data: |x - dequant| <= d/2 + the scale's own f16 rounding (127 * |d - f16(d)|) */
    float r[320], back[320];
    uint32_t s = 12345;
    for (int i = 0; i < 320; i++) {
        s = s * 1664525u + 1013904223u;
        r[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 + i / 32) * 3.0f;
    }
    uint8_t qq[10 * 34];
    cl_quantize_q8_0(r, 320, qq);
    cl_convert_to_f32(CL_Q8_0, qq, 0, 320, back);
    ok = 1;
    for (int b = 0; b < 10; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(r[b * 32 + i]));
        float dexact = amax / 127, bound = dexact / 2 + 127 * fabsf(dexact - cl_f16_to_f32(cl_f32_to_f16(dexact))) + 1e-6f;
        for (int i = 0; i < 32; i++) ok &= fabsf(r[b * 32 + i] - back[b * 32 + i]) <= bound;
    }
    OK(ok, "q8_0 round-trip error within d/2 + scale rounding");
}

static void test_tensor_to_f32(void) {
    uint16_t h[4] = {0x3C00, 0xC000, 0x3800, 0x0000};
    cl_tensor t = {"t", CL_F16, 2, {2, 2, 0, 0}, h, sizeof h};
    float out[4];
    OK(cl_tensor_to_f32(&t, out) == 0 && out[0] == 1 && out[1] == -2 && out[2] == 0.5f && out[3] == 0, "f16 tensor to f32");
    t.nbytes = 6;
    OK(cl_tensor_to_f32(&t, out) < 0, "tensor with too few bytes refused");
    t.dtype = CL_BF16;
    t.nbytes = 8;
    OK(cl_tensor_to_f32(&t, out) == 0 && out[0] == cl_bf16_to_f32(0x3C00), "bf16 tensor to f32");
    OK(!strcmp(cl_dtype_name(CL_Q8_0), "q8_0") && !strcmp(cl_dtype_name(CL_BF16), "bf16") && cl_dtype_valid(30) &&
           cl_dtype_valid(2) && cl_dtype_valid(14) && !cl_dtype_valid(3) && !cl_dtype_valid(15),
       "dtype names and validity");
}

int main(void) {
    test_f16_known();
    test_f16_exhaustive();
    test_bf16();
    test_q8_0();
    test_tensor_to_f32();
    return t_done();
}
