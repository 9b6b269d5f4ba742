/* tok_unicode.c — Unicode normalization forms (NFC, NFKC, NFD, NFKD) for tokenizer.json
 * normalizers, by ICU.  Valid UTF-8 runs are normalized; invalid bytes pass through unchanged. */
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include "tok_internal.h"
#include "utf8.h"
#include "util.h"

static const UNormalizer2 *instance(int form) {
    UErrorCode e = U_ZERO_ERROR;
    const UNormalizer2 *n = form == NORM_NFC ? unorm2_getNFCInstance(&e) : form == NORM_NFKC ? unorm2_getNFKCInstance(&e)
                          : form == NORM_NFD ? unorm2_getNFDInstance(&e) : unorm2_getNFKDInstance(&e);
    return U_FAILURE(e) ? NULL : n;
}

/* Appends the normalization of the valid UTF-8 s[0..n) to out. */
static int normalize_run(const UNormalizer2 *nz, const char *s, size_t n, tok_buf *out) {
    if (n > INT32_MAX / 4) return cl_fail("text too long to normalize");
    UErrorCode e = U_ZERO_ERROR;
    int32_t n16 = 0;
    u_strFromUTF8(NULL, 0, &n16, s, (int32_t)n, &e);
    if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return cl_fail("ICU: %s", u_errorName(e));
    UChar *a = cl_malloc(((size_t)n16 + 1) * sizeof *a);
    e = U_ZERO_ERROR;
    u_strFromUTF8(a, n16 + 1, NULL, s, (int32_t)n, &e);
    int32_t cap = n16 * 3 + 16, m;   /* decompositions grow at most 3x (NFKD 18x is theoretical) */
    UChar *b = cl_malloc((size_t)cap * sizeof *b);
    e = U_ZERO_ERROR;
    m = unorm2_normalize(nz, a, n16, b, cap, &e);
    if (e == U_BUFFER_OVERFLOW_ERROR) {
        b = cl_realloc(b, (size_t)(m + 1) * sizeof *b);
        e = U_ZERO_ERROR;
        m = unorm2_normalize(nz, a, n16, b, m + 1, &e);
    }
    int32_t n8 = 0;
    if (U_SUCCESS(e)) {
        u_strToUTF8(NULL, 0, &n8, b, m, &e);
        if (e == U_BUFFER_OVERFLOW_ERROR) e = U_ZERO_ERROR;
    }
    if (U_FAILURE(e)) { free(a); free(b); return cl_fail("ICU normalize: %s", u_errorName(e)); }
    size_t at = out->n;
    tok_buf_append(out, NULL, (size_t)n8 + 1);
    u_strToUTF8(out->v + at, n8 + 1, NULL, b, m, &e);
    out->n = at + (size_t)n8;
    free(a);
    free(b);
    return U_FAILURE(e) ? cl_fail("ICU normalize: %s", u_errorName(e)) : 0;
}

int tok_unorm(int form, const char *s, size_t n, tok_buf *out) {
    const UNormalizer2 *nz = instance(form);
    if (!nz) return cl_fail("ICU: no normalizer instance");
    out->n = 0;
    size_t p = 0;
    while (p < n) {
        size_t v = cl_utf8_validate(s + p, n - p);
        if (v && normalize_run(nz, s + p, v, out)) return -1;
        p += v;
        if (p < n) tok_buf_append(out, s + p++, 1);
    }
    return 0;
}

/* Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector punctuation, joiners —
 * what HF's single_word added tokens test next to a match (its ^\w and \w$ regexes). */
int tok_is_word_char(uint32_t cp) {
    if (cp < 128) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
    if (cp > 0x10FFFF) return 0;
    int8_t ty = u_charType((UChar32)cp);
    return u_hasBinaryProperty((UChar32)cp, UCHAR_ALPHABETIC) || ty == U_NON_SPACING_MARK ||
           ty == U_ENCLOSING_MARK || ty == U_COMBINING_SPACING_MARK || ty == U_DECIMAL_DIGIT_NUMBER ||
           ty == U_CONNECTOR_PUNCTUATION || cp == 0x200C || cp == 0x200D;
}
