/* quant.h — GGML block formats beyond f32/f16/bf16: their layouts, dequantisation and
 * (simple, round-to-nearest) quantisation.
 *
 * Layouts are byte for byte those of GGUF files (ggml-common.h); little-endian f16 scales:
 *   q4_0  32 elements, 18 bytes: f16 d; 16 bytes: element j in the low nibble of byte j,
 *         element j+16 in the high nibble.  x = (q - 8) * d.
 *   q8_0  32 elements, 34 bytes: f16 d; 32 int8.  x = d * q.
 *   q4_K  256 elements, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs for
 *         8 sub-blocks of 32, 128 bytes of nibbles (64-element chunk c: byte 32c+l holds element
 *         64c+l low, 64c+32+l high).  x = (d*sc) * q - (dmin*m).
 *   q5_K  256 elements, 176 bytes: as q4_K plus 32 bytes qh between scales and nibbles: bit 2c of
 *         qh[l] is bit 4 of element 64c+l, bit 2c+1 that of element 64c+32+l.
 *   q6_K  256 elements, 210 bytes: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8
 *         scales (one per 16 elements), f16 d.  x = (d*sc) * (q - 32).
 * Dequantisation rounds exactly as those formulas read in f32 arithmetic, no fused multiply-add
 * (tests/ref/ref_dequant.py is the independent reference). */
#ifndef CL_QUANT_H
#define CL_QUANT_H
#include <math.h>
#include <stdint.h>
#include "tensor.h"

/* Elements and bytes of one block of t (1 and the element size for f32/f16/bf16); 0 if unknown. */
int cl_dtype_block(cl_dtype t);
int cl_dtype_block_bytes(cl_dtype t);

/* Dequantise nb consecutive blocks of a block format (not f32/f16/bf16) into out. */
void cl_dequant_blocks(cl_dtype t, const void *src, int64_t nb, float *out);

/* Encode n floats as t: f32 copied, f16/bf16 rounded to nearest even,
 * a block format quantised per block to nearest values on a min/max grid (not llama.cpp's
 * error-minimising search; the layout is what matters to readers).  Returns 0, or -1 after
 * cl_fail where x cannot be stored as t without going wrong (out then partly written):
 *   - a block format and n not a multiple of its block (nothing written): "33 elements are not
 *     whole q8_0 blocks of 32";
 *   - a block format and a non-finite element: "element I is nan: q8_0 holds finite values only";
 *   - a block whose f16 scale rounds to inf (|scale| >= 65520), so that it would read back as
 *     inf/nan (llama.cpp writes it so): "elements I..J: |x| max 9e+06 makes the q8_0 scale d
 *     70866.1, beyond f16 (max 65504)".  Each format holds, per block:
 *       q8_0  |x| max / 127 < 65520          (|x| up to about 8.32e6)
 *       q4_0  |x| max / 8 < 65520            (|x| below 524160)
 *       q4_K  max over sub-blocks of 32 of (max - min) / 15 / 63 < 65520 (about 6.19e7), and
 *             -min / 63 < 65520 (the smallest x above about -4.13e6; max and min taken with 0)
 *       q5_K  as q4_K with 31 for 15 (max - min up to about 1.28e8)
 *       q6_K  |x| max / 31 / 127 < 65520      (about 2.58e8)
 *   - f16 / bf16 and a finite element that rounds to inf (|x| >= 65520 in f16; beyond
 *     bf16's 3.3895e38): "element I is 70000, beyond f16 (max 65504)".
 * inf and nan elements are kept as they are for f32/f16/bf16, which hold them exactly: a model
 * that has them has them, and converting it must not change that. */
int cl_quantize(cl_dtype t, const float *x, int64_t n, void *out);

/* 1/d for the scale d of a block stored with an f16 scale (q8_0, q4_0), as llama.cpp's reference
 * quantisers take it (q = round(x * (1/d))), except where that is inf: 0 for d == 0 as there, and
 * 0 too where 1/d overflows (|d| < 2^-128, a block's amax below ~3.7e-37), where llama.cpp's
 * x * inf gives inf or nan and its conversion to an integer is undefined behaviour.  Such a d
 * rounds to 0 in f16, so the block dequantises to zeros whatever its quants: they are 0, as in an
 * all-zero block.  Every finite 1/d is returned unchanged (normal blocks keep their bits). */
static inline float cl_f16_scale_inv(float d) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    return isinf(id) ? 0.0f : id;
}

/* The 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block's 12 scale bytes s. */
static inline void cl_qk_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63, *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

#endif
