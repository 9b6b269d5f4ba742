/* vexp.h — exp(x) for vectorised loops, shared by ops.c and attention.c (internal header).
 *
 * Cephes' expf: range reduction by ln 2, degree-6 polynomial; relative error ~2e-7; exactly 0
 * below -87.3 (where expf underflows to denormals), capped above 88.3; cl_exp_approx(0) == 1
 * exactly.  Plain arithmetic (no libm call), so loops using it vectorise, and the same IEEE
 * operations on every instruction set: the bits do not depend on the CPU. */
#ifndef CL_VEXP_H
#define CL_VEXP_H
#include <stdint.h>
#include <string.h>

static inline float cl_exp_approx(float x0) {
    float x = x0 < -87.3f ? -87.3f : x0 > 88.3f ? 88.3f : x0;
    int k = (int)(x * 1.44269504088896341f + 128.5f) - 128;   /* round(x / ln 2), floor via trunc */
    float fk = (float)k;
    float r = x - fk * 0.693359375f - fk * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (k + 127) << 23;   /* 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x0 < -87.3f ? 0.0f : p * scale;
}

#endif
