/* utf8.c — strict UTF-8 per RFC 3629 / Unicode Table 3-7. */
#include "utf8.h"

#include <stdio.h>
#include <string.h>
#include "util.h"

int cl_utf8_lead_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    if (c < 0xF5) return 4;
    return 0;
}

int cl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len = cl_utf8_lead_len(c);
    if (len == 0 || (size_t)len > n) return 0;
    unsigned char c1 = s[1];
    /* second byte ranges that exclude overlongs, surrogates and > U+10FFFF */
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
    else if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    if (c1 < lo || c1 > hi) return 0;
    uint32_t v;
    if (len == 2) {
        v = ((uint32_t)(c & 0x1F) << 6) | (c1 & 0x3F);
    } else if (len == 3) {
        if ((s[2] & 0xC0) != 0x80) return 0;
        v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(c1 & 0x3F) << 6) | (s[2] & 0x3F);
    } else {
        if ((s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(c1 & 0x3F) << 12) |
            ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
    *cp = v;
    return len;
}

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

size_t cl_utf8_validate(const void *p, size_t n) {
    size_t bad_len;
    return cl_utf8_check(p, n, &bad_len);
}

int cl_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) return 0;
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t cl_utf8_floor(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    return k;
}

char *cl_utf8_name(const char *s, size_t max) {
    size_t n = strlen(s), cap = 4 * n + 1, k = 0;
    char *out = cl_malloc(cap);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = cl_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        size_t add = len ? (size_t)len : 4;
        if (k + add > max) break;   /* whole characters and whole escapes only */
        if (len) memcpy(out + k, s + i, (size_t)len);
        else snprintf(out + k, 5, "\\x%02X", (unsigned char)s[i]);
        k += add;
        i += len ? (size_t)len : 1;
    }
    out[k] = 0;
    return out;
}
