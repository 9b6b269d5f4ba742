/* mat_kern.c — AVX-512 row dot products for each stored dtype (see mat_kern.h).  The file is
 * compiled for baseline x86-64; each kernel carries its own target attribute and is only called
 * after __builtin_cpu_supports says the CPU has those instructions. */
#include "mat_kern.h"
#include "quant.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,f16c,fma")))

T512 static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}
T512 static inline __m512 ld8(const uint8_t *p) {   /* 16 unsigned bytes -> 16 int lanes as float later */
    return _mm512_castsi512_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
#define I(v) _mm512_castps_si512(v)
#define CVT(v) _mm512_cvtepi32_ps(v)

T512 static float dot_f16(const void *row, const float *x, int K) {
    const uint8_t *w = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * k))), _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * k + 32))), _mm512_loadu_ps(x + k + 16), a1);
    }
    for (; k + 16 <= K; k += 16)
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * k))), _mm512_loadu_ps(x + k), a0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; k < K; k++) s += h2f(w + 2 * k) * x[k];
    return s;
}

T512 static inline __m512 bf16x16(const uint8_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

T512 static float dot_bf16(const void *row, const float *x, int K) {
    const uint8_t *w = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        a0 = _mm512_fmadd_ps(bf16x16(w + 2 * k), _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(bf16x16(w + 2 * k + 32), _mm512_loadu_ps(x + k + 16), a1);
    }
    for (; k + 16 <= K; k += 16) a0 = _mm512_fmadd_ps(bf16x16(w + 2 * k), _mm512_loadu_ps(x + k), a0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; k < K; k++) {
        uint32_t u = (uint32_t)(w[2 * k] | w[2 * k + 1] << 8) << 16;
        float f;
        memcpy(&f, &u, 4);
        s += f * x[k];
    }
    return s;
}

T512 static float dot_q8_0(const void *row, const float *x, int K) {
    const uint8_t *p = row;
    __m512 acc = _mm512_setzero_ps();
    for (int b = 0; b < K / 32; b++, p += 34, x += 32) {
        __m512 q0 = CVT(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
        __m512 q1 = CVT(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
        __m512 s = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + 16), _mm512_mul_ps(q0, _mm512_loadu_ps(x)));
        acc = _mm512_fmadd_ps(s, _mm512_set1_ps(h2f(p)), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

T512 static float dot_q4_0(const void *row, const float *x, int K) {
    const uint8_t *p = row;
    const __m512i m4 = _mm512_set1_epi32(15), e8 = _mm512_set1_epi32(8);
    __m512 acc = _mm512_setzero_ps();
    for (int b = 0; b < K / 32; b++, p += 18, x += 32) {
        __m512i v = I(ld8(p + 2));
        __m512 lo = CVT(_mm512_sub_epi32(_mm512_and_si512(v, m4), e8));
        __m512 hi = CVT(_mm512_sub_epi32(_mm512_srli_epi32(v, 4), e8));
        __m512 s = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + 16), _mm512_mul_ps(lo, _mm512_loadu_ps(x)));
        acc = _mm512_fmadd_ps(s, _mm512_set1_ps(h2f(p)), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

/* q4_K (qh NULL) and q5_K: per sub-block of 32, sum (d sc q - dmin m) x. */
T512 static inline float dot_qk45(const uint8_t *p, int K, const float *x, int five) {
    const __m512i m4 = _mm512_set1_epi32(15), one = _mm512_set1_epi32(1);
    __m512 acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
    const int bs = five ? 176 : 144;
    for (int b = 0; b < K / 256; b++, p += bs, x += 256) {
        const float d = h2f(p), dmin = h2f(p + 2);
        const uint8_t *qh = p + 16, *qs = five ? p + 48 : p + 16;
        for (int c = 0; c < 4; c++) {
            int sc, m;
            cl_qk_scale_min(p + 4, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            cl_qk_scale_min(p + 4, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            __m512 sl = _mm512_setzero_ps(), sh = _mm512_setzero_ps(), xl_sum, xh_sum;
            const float *xc = x + 64 * c;
            __m512 xl0 = _mm512_loadu_ps(xc), xl1 = _mm512_loadu_ps(xc + 16);
            __m512 xh0 = _mm512_loadu_ps(xc + 32), xh1 = _mm512_loadu_ps(xc + 48);
            for (int h = 0; h < 2; h++) {
                __m512i v = I(ld8(qs + 32 * c + 16 * h));
                __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_srli_epi32(v, 4);
                if (five) {
                    __m512i hv = I(ld8(qh + 16 * h));
                    lo = _mm512_or_si512(lo, _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(hv, 2 * c), one), 4));
                    hi = _mm512_or_si512(hi, _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(hv, 2 * c + 1), one), 4));
                }
                sl = _mm512_fmadd_ps(CVT(lo), h ? xl1 : xl0, sl);
                sh = _mm512_fmadd_ps(CVT(hi), h ? xh1 : xh0, sh);
            }
            xl_sum = _mm512_add_ps(xl0, xl1);
            xh_sum = _mm512_add_ps(xh0, xh1);
            acc = _mm512_fmadd_ps(sl, _mm512_set1_ps(d1), acc);
            acc = _mm512_fmadd_ps(sh, _mm512_set1_ps(d2), acc);
            accm = _mm512_fmadd_ps(xl_sum, _mm512_set1_ps(m1), accm);
            accm = _mm512_fmadd_ps(xh_sum, _mm512_set1_ps(m2), accm);
        }
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(accm);
}
T512 static float dot_q4_k(const void *row, const float *x, int K) { return dot_qk45(row, K, x, 0); }
T512 static float dot_q5_k(const void *row, const float *x, int K) { return dot_qk45(row, K, x, 1); }

T512 static float dot_q6_k(const void *row, const float *x, int K) {
    const uint8_t *p = row;
    const __m512i m4 = _mm512_set1_epi32(15), m2 = _mm512_set1_epi32(3), e32 = _mm512_set1_epi32(32);
    __m512 acc = _mm512_setzero_ps();
    for (int b = 0; b < K / 256; b++, p += 210, x += 256) {
        const float d = h2f(p + 208);
        const int8_t *scl = (const int8_t *)(p + 192);
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = p + 64 * n, *qh = p + 128 + 32 * n;
            const int8_t *sc = scl + 8 * n;
            const float *xb = x + 128 * n;
            for (int h = 0; h < 2; h++) {
                __m512i L0 = I(ld8(ql + 16 * h)), L1 = I(ld8(ql + 32 + 16 * h)), H = I(ld8(qh + 16 * h));
                __m512i q1 = _mm512_or_si512(_mm512_and_si512(L0, m4), _mm512_slli_epi32(_mm512_and_si512(H, m2), 4));
                __m512i q2 = _mm512_or_si512(_mm512_and_si512(L1, m4),
                                             _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(H, 2), m2), 4));
                __m512i q3 = _mm512_or_si512(_mm512_srli_epi32(L0, 4),
                                             _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(H, 4), m2), 4));
                __m512i q4 = _mm512_or_si512(_mm512_srli_epi32(L1, 4), _mm512_slli_epi32(_mm512_srli_epi32(H, 6), 4));
                const float *xl = xb + 16 * h;
                acc = _mm512_fmadd_ps(_mm512_mul_ps(CVT(_mm512_sub_epi32(q1, e32)), _mm512_loadu_ps(xl)),
                                      _mm512_set1_ps(d * (float)sc[h]), acc);
                acc = _mm512_fmadd_ps(_mm512_mul_ps(CVT(_mm512_sub_epi32(q2, e32)), _mm512_loadu_ps(xl + 32)),
                                      _mm512_set1_ps(d * (float)sc[h + 2]), acc);
                acc = _mm512_fmadd_ps(_mm512_mul_ps(CVT(_mm512_sub_epi32(q3, e32)), _mm512_loadu_ps(xl + 64)),
                                      _mm512_set1_ps(d * (float)sc[h + 4]), acc);
                acc = _mm512_fmadd_ps(_mm512_mul_ps(CVT(_mm512_sub_epi32(q4, e32)), _mm512_loadu_ps(xl + 96)),
                                      _mm512_set1_ps(d * (float)sc[h + 6]), acc);
            }
        }
    }
    return _mm512_reduce_add_ps(acc);
}

/* F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c". */
static int have_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static int have_avx512(void) {
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("CL_KERNELS");
        __builtin_cpu_init();
        v = !(e && !strcmp(e, "generic")) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") &&
            have_f16c();
    }
    return v;
}

cl_row_dot cl_row_dot_for(cl_dtype t) {
    if (!have_avx512()) return NULL;
    switch (t) {
    case CL_F16: return dot_f16;
    case CL_BF16: return dot_bf16;
    case CL_Q4_0: return dot_q4_0;
    case CL_Q8_0: return dot_q8_0;
    case CL_Q4_K: return dot_q4_k;
    case CL_Q5_K: return dot_q5_k;
    case CL_Q6_K: return dot_q6_k;
    case CL_F32: return NULL;
    }
    return NULL;
}

const char *cl_row_dot_isa(void) { return have_avx512() ? "avx512" : "generic"; }

#else
cl_row_dot cl_row_dot_for(cl_dtype t) { (void)t; return NULL; }
const char *cl_row_dot_isa(void) { return "generic"; }
#endif
