/* mat_q8_act512.c — the activation quantisers of mat_q8.h (q8_0 blocks of 32, q8_K blocks of 256,
 * and the sums per 16) with AVX-512, bit for bit the portable ones in mat_q8.c:
 *   q8_0: amax (a max: order-free), d = amax/127 and 1/d in scalar code as there, q = roundf(x/d)
 *         done exactly as truncation plus one where the remainder's magnitude is >= 1/2 (x - trunc x
 *         is exact for |x| < 2^23), so halves go away from zero as roundf does;
 *   q8_K: max = the first element of largest |x| (the lowest index among the lanes equal to amax),
 *         q = min(127, nearest-even(iscale x)) through vcvtps2dq under the default rounding mode,
 *         which is what lrintf does.
 * A block with inf or nan gets the portable result too (q 0, d nan).  Built for baseline x86-64:
 * reached only through cl_q8_quant_avx512 after the CPU was checked. */
#include "mat_q8.h"
#include <math.h>
#include <string.h>
#include "quant.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "mat_q8_x86.h"

/* 1 if every lane of x is finite (x - x is 0 exactly then, nan otherwise) */
TVI static int finite16(__m512 x) {
    return _mm512_cmp_ps_mask(_mm512_sub_ps(x, x), _mm512_setzero_ps(), _CMP_EQ_OQ) == 0xFFFF;
}

/* roundf of each lane (|x| < 2^31), as int32 */
TVI static __m512i round_away(__m512 x) {
    const __m512i t = _mm512_cvttps_epi32(x);
    const __m512 f = _mm512_sub_ps(x, _mm512_cvtepi32_ps(t));
    const __mmask16 up = _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __mmask16 dn = _mm512_cmp_ps_mask(f, _mm512_set1_ps(-0.5f), _CMP_LE_OQ);
    return _mm512_mask_sub_epi32(_mm512_mask_add_epi32(t, up, t, _mm512_set1_epi32(1)), dn, t, _mm512_set1_epi32(1));
}

/* 16 int32 lanes to 16 bytes at q (the low byte of each, as the portable (int8_t) conversion
 * leaves it), the sum of those bytes to *bs */
TVI static void put16(__m512i v, int8_t *q, int16_t *bs) {
    const __m128i b = _mm512_cvtepi32_epi8(v);
    _mm_storeu_si128((__m128i *)q, b);
    *bs = (int16_t)_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(b));
}

TV static void row_q8_0(const float *x, int K, int8_t *q, float *d, int16_t *bs) {
    for (int b = 0; b < K / 32; b++, x += 32, q += 32, bs += 2) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        if (!finite16(x0) || !finite16(x1)) {
            memset(q, 0, 32), d[b] = NAN, bs[0] = bs[1] = 0;
            continue;
        }
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
        const float dd = amax / 127.0f, id = cl_f16_scale_inv(dd);
        d[b] = cl_q8_0_act_scale(dd);
        const __m512 iv = _mm512_set1_ps(id);
        put16(round_away(_mm512_mul_ps(x0, iv)), q, bs);
        put16(round_away(_mm512_mul_ps(x1, iv)), q + 16, bs + 1);
    }
}

TV static void row_q8_k(const float *x, int K, int8_t *q, float *d, int16_t *bs) {
    for (int b = 0; b < K / 256; b++, x += 256, q += 256, bs += 16) {
        __m512 m = _mm512_setzero_ps();
        int fin = 1;
        for (int v = 0; v < 16; v++) {
            const __m512 xv = _mm512_loadu_ps(x + 16 * v);
            fin &= finite16(xv);
            m = _mm512_max_ps(m, _mm512_abs_ps(xv));
        }
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f || !fin) {
            memset(q, 0, 256), d[b] = fin ? 0.0f : NAN, memset(bs, 0, 16 * sizeof *bs);
            continue;
        }
        float max = 0.0f;
        for (int v = 0; v < 16; v++) {   /* the first lane equal to amax */
            const __m512 xv = _mm512_loadu_ps(x + 16 * v);
            const __mmask16 e = _mm512_cmp_ps_mask(_mm512_abs_ps(xv), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (e) {
                max = x[16 * v + __builtin_ctz(e)];
                break;
            }
        }
        float iscale, pre;
        cl_q8_k_scale(max, &iscale, &pre);
        const __m512 iv = _mm512_set1_ps(iscale), pv = _mm512_set1_ps(pre);
        for (int v = 0; v < 16; v++) {
            const __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * v), pv), iv));
            put16(_mm512_min_epi32(r, _mm512_set1_epi32(127)), q + 16 * v, bs + v);
        }
        d[b] = 1.0f / iscale / pre;
    }
}

cl_q8_quant cl_q8_quant_avx512(int kb) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")))
        return NULL;
    return kb == 32 ? row_q8_0 : row_q8_k;
}

#else
cl_q8_quant cl_q8_quant_avx512(int kb) { return NULL; }
#endif
