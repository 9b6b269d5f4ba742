/* utf8_valid.c — see utf8_valid.h. */
#include "utf8_valid.h"
#include <stdint.h>
#include <string.h>

size_t cl_utf8_check(const char *str, size_t n, size_t *bad_len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    *bad_len = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;             /* continuation bytes after the lead */
        unsigned lo = 0x80, hi = 0xBF;   /* range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) need = 2, lo = 0xA0;
        else if (c == 0xED) need = 2, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) need = 3, lo = 0x90;
        else if (c == 0xF4) need = 3, hi = 0x8F;
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else {
            *bad_len = 1;
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n) return i;   /* truncated at the end: *bad_len stays 0 */
            unsigned b = s[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) {
                *bad_len = k;
                return i;
            }
        }
        i += need + 1;
    }
    return n;
}
