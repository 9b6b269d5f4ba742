/* mat_q8_avx2.c — the integer products of mat_q8.h with AVX2 (for CPUs without AVX512-VNNI).
 *
 * One output entry at a time: per weight block the exact integer dot product from vpmaddubsw
 * (unsigned x signed bytes to 16-bit pairs; q8_0 weights go in as |w| with the activation's sign
 * flipped where w < 0, so no pair can saturate) and vpmaddwd (16-bit pairs times 1 or the
 * sub-block scale to 32 bits), summed across lanes, then mat_q8.h's float sequence in scalar
 * fmaf.  Built for baseline x86-64; the functions carry target attributes and are handed out
 * only after the CPU was checked. */
#include "mat_q8.h"
#include <math.h>
#include "quant.h"
#include "tensor.h"
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define T2 __attribute__((target("avx2,fma")))

static inline float h2f(const uint8_t *p) { return cl_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

T2 static inline int hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
T2 static inline __m256i ld(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
/* 32 unsigned x 32 signed bytes -> 8 int32 partial sums, times the 16-bit multiplier m */
T2 static inline __m256i dot(__m256i u, __m256i a, __m256i m) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), m); }
#define NIB(x) _mm256_and_si256(x, _mm256_set1_epi8(15))
#define HI4(x) NIB(_mm256_srli_epi16(x, 4))
/* bits s and s+1.. of each byte (k bits), moved up to bit 4 */
#define BITS(h, s, mask) _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, s), _mm256_set1_epi8(mask)), 4)

T2 static float dot_row(cl_dtype t, const uint8_t *w, const cl_q8act *X, int i) {
    const int K = X->K, nb = K / X->kb, bb = cl_dtype_block_bytes(t);
    const int8_t *a = X->q + (size_t)i * K;
    const float *da = X->d + (size_t)i * nb;
    const int16_t *bs = X->bs + (size_t)i * (K / 16);
    const __m256i one = _mm256_set1_epi16(1);
    float acc = 0.0f;
    for (int b = 0; b < nb; b++, w += bb, a += X->kb, bs += X->kb / 16) {
        if (t == CL_Q8_0) {
            __m256i q = ld(w + 2);
            int isum = hsum(dot(_mm256_sign_epi8(q, q), _mm256_sign_epi8(ld(a), q), one));
            acc = fmaf((float)isum, h2f(w) * da[b], acc);
        } else if (t == CL_Q4_0) {
            __m128i x = _mm_loadu_si128((const __m128i *)(w + 2));
            __m128i lo = _mm_and_si128(x, _mm_set1_epi8(15)), hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(15));
            int isum = hsum(dot(_mm256_set_m128i(hi, lo), ld(a), one)) - 8 * (bs[0] + bs[1]);
            acc = fmaf((float)isum, h2f(w) * da[b], acc);
        } else if (t == CL_Q6_K) {
            __m256i vs = _mm256_setzero_si256();
            int corr = 0;
            for (int n = 0; n < 2; n++) {
                const uint8_t *ql = w + 64 * n, *qh = w + 128 + 32 * n;
                const int8_t *sc = (const int8_t *)w + 192 + 8 * n;
                __m256i L0 = ld(ql), L1 = ld(ql + 32), H = ld(qh);
                __m256i q[4] = {_mm256_or_si256(NIB(L0), BITS(H, 0, 3)), _mm256_or_si256(NIB(L1), BITS(H, 2, 3)),
                                _mm256_or_si256(HI4(L0), BITS(H, 4, 3)), _mm256_or_si256(HI4(L1), BITS(H, 6, 3))};
                for (int tt = 0; tt < 4; tt++) {
                    __m256i m = _mm256_set_m128i(_mm_set1_epi16(sc[2 * tt + 1]), _mm_set1_epi16(sc[2 * tt]));
                    vs = _mm256_add_epi32(vs, dot(q[tt], ld(a + 128 * n + 32 * tt), m));
                }
                for (int g = 0; g < 8; g++) corr += sc[g] * bs[8 * n + g];
            }
            acc = fmaf((float)(hsum(vs) - 32 * corr), h2f(w + 208) * da[b], acc);
        } else {   /* q4_K, q5_K */
            const int five = t == CL_Q5_K;
            const uint8_t *qs = w + (five ? 48 : 16);
            __m256i vs = _mm256_setzero_si256(), H = five ? ld(w + 16) : _mm256_setzero_si256();
            int summ = 0;
            for (int c = 0; c < 4; c++) {
                int s0, m0, s1, m1;
                cl_qk_scale_min(w + 4, 2 * c, &s0, &m0);
                cl_qk_scale_min(w + 4, 2 * c + 1, &s1, &m1);
                __m256i x = ld(qs + 32 * c), lo = NIB(x), hi = HI4(x);
                if (five) lo = _mm256_or_si256(lo, BITS(H, 2 * c, 1)), hi = _mm256_or_si256(hi, BITS(H, 2 * c + 1, 1));
                vs = _mm256_add_epi32(vs, dot(lo, ld(a + 64 * c), _mm256_set1_epi16((short)s0)));
                vs = _mm256_add_epi32(vs, dot(hi, ld(a + 64 * c + 32), _mm256_set1_epi16((short)s1)));
                summ += m0 * (bs[4 * c] + bs[4 * c + 1]) + m1 * (bs[4 * c + 2] + bs[4 * c + 3]);
            }
            acc = fmaf((float)hsum(vs), h2f(w) * da[b], acc);
            acc = fmaf((float)summ, -(h2f(w + 2) * da[b]), acc);
        }
    }
    return acc;
}

T2 static void cols_avx2(const cl_q8act *X, const cl_mat *W, int j0, int j1, float alpha, float beta, float *C,
                         int ldc) {
    for (int j = j0; j < j1; j++) {
        const uint8_t *w = (const uint8_t *)W->data + (size_t)j * W->row_bytes;
        for (int i = 0; i < X->M; i++) {
            float *o = C + (size_t)i * ldc + j;
            *o = cl_q8_out(dot_row(W->dtype, w, X, i), alpha, beta, *o);
        }
    }
}

cl_q8_cols cl_q8_cols_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? cols_avx2 : NULL;
}
#endif
