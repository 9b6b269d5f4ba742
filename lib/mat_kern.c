/* mat_kern.c — AVX-512 row dot products for each stored dtype, AVX2 ones for f16/bf16 (see mat_kern.h).  The file is
 * compiled for baseline x86-64; each kernel carries its own target attribute and is only called
 * after __builtin_cpu_supports says the CPU has those instructions. */
#include "mat_kern.h"
#include "mat_bf16.h"
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

/* AVX2 + FMA + F16C clones of the 16-bit float kernels (CPUs without AVX-512), 32 per step. */
#define T256 __attribute__((target("avx2,f16c,fma")))
T256 static inline __m256 bf16x8(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
T256 static inline __m256 f16x8(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
T256 static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
#define DOT16_AVX2(name, load, scalar)                                                                  \
    T256 static float name(const void *row, const float *x, int K) {                                   \
        const uint8_t *w = row;                                                                        \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                    \
        int k = 0;                                                                                     \
        for (; k + 32 <= K; k += 32) {                                                                 \
            a0 = _mm256_fmadd_ps(load(w + 2 * k), _mm256_loadu_ps(x + k), a0);                         \
            a1 = _mm256_fmadd_ps(load(w + 2 * k + 16), _mm256_loadu_ps(x + k + 8), a1);                \
            a2 = _mm256_fmadd_ps(load(w + 2 * k + 32), _mm256_loadu_ps(x + k + 16), a2);               \
            a3 = _mm256_fmadd_ps(load(w + 2 * k + 48), _mm256_loadu_ps(x + k + 24), a3);               \
        }                                                                                              \
        for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(load(w + 2 * k), _mm256_loadu_ps(x + k), a0); \
        float s = sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));                   \
        for (; k < K; k++) s += scalar(w + 2 * k) * x[k];                                              \
        return s;                                                                                      \
    }
T256 static inline float bf16_at(const uint8_t *p) {
    uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
T256 static inline float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}
DOT16_AVX2(dot_f16_avx2, f16x8, f16_at)
DOT16_AVX2(dot_bf16_avx2, bf16x8, bf16_at)
#undef DOT16_AVX2

/* F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c". */
static int have_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

/* 2: AVX-512 (+ FMA, F16C), 1: AVX2 + FMA + F16C, 0: portable; CL_KERNELS=generic or avx2 caps it */
static int isa_level(void) {
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("CL_KERNELS");
        __builtin_cpu_init();
        int a2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && have_f16c();
        v = e && !strcmp(e, "generic") ? 0 : a2 && __builtin_cpu_supports("avx512f") && !(e && !strcmp(e, "avx2")) ? 2 : a2;
    }
    return v;
}

cl_row_dot cl_row_dot_for(cl_dtype t) {
    if (isa_level() == 1) return t == CL_F16 ? dot_f16_avx2 : t == CL_BF16 ? dot_bf16_avx2 : NULL;
    if (isa_level() != 2) return NULL;
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

const char *cl_row_dot_isa(void) {
    return isa_level() == 2 ? (cl_bf16_simd() ? "avx512+bf16" : "avx512") : isa_level() ? "avx2" : "generic";
}

#else
cl_row_dot cl_row_dot_for(cl_dtype t) { (void)t; return NULL; }
const char *cl_row_dot_isa(void) { return "generic"; }
#endif
