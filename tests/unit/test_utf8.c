/* test_utf8.c — lib/utf8.c against ICU's strict UTF-8 conversion (an independent implementation)
 * on every 1-, 2- and 3-byte sequence and on 4-byte sequences over every lead byte; encode/decode
 * round trip of every code point. */
#include <string.h>
#include <unicode/ustring.h>
#include "t.h"
#include "utf8.h"

/* ICU: is s[0..n) exactly one well-formed UTF-8 sequence (or several)? */
static int icu_valid(const unsigned char *s, int n) {
    UChar buf[16];
    UErrorCode e = U_ZERO_ERROR;
    int32_t len;
    u_strFromUTF8(buf, 16, &len, (const char *)s, n, &e);
    return U_SUCCESS(e);
}

int main(void) {
    long bad = 0, checked = 0;
    unsigned char s[4];
    for (int a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        checked++;
        bad += (cl_utf8_validate(s, 1) == 1) != icu_valid(s, 1);
        for (int b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            checked++;
            bad += (cl_utf8_validate(s, 2) == 2) != icu_valid(s, 2);
            if (a < 0xE0 || a > 0xF4) continue;
            for (int c = 0; c < 256; c++) {
                s[2] = (unsigned char)c;
                checked++;
                bad += (cl_utf8_validate(s, 3) == 3) != icu_valid(s, 3);
                if (a < 0xF0) continue;
                for (int d = 0x70; d < 0xD0; d += 0x0F) {   /* around the continuation range */
                    s[3] = (unsigned char)d;
                    checked++;
                    bad += (cl_utf8_validate(s, 4) == 4) != icu_valid(s, 4);
                }
            }
        }
    }
    OK(bad == 0, "validate agrees with ICU on %ld byte sequences (%ld disagree)", checked, bad);

    long rt_bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        char out[4];
        int k = cl_utf8_encode(cp, out);
        uint32_t back;
        if (cp >= 0xD800 && cp <= 0xDFFF) { rt_bad += k != 0; continue; }
        rt_bad += k == 0 || cl_utf8_decode((const unsigned char *)out, (size_t)k, &back) != k || back != cp;
    }
    OK(rt_bad == 0, "every code point encodes and decodes back; surrogates refused");

    const char *t = "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc0\xaf tail";
    OK(cl_utf8_validate(t, strlen(t)) == 15, "first invalid byte of a mixed string is at offset 15 (overlong C0 AF)");
    OK(cl_utf8_validate("\xe2\x82", 2) == 0, "a truncated sequence is invalid at its lead byte");
    OK(cl_utf8_validate("\xed\xa0\x80", 3) == 0 && cl_utf8_validate("\xf4\x90\x80\x80", 4) == 0,
       "surrogates and code points above U+10FFFF are invalid");
    OK(cl_utf8_lead_len(0xC2) == 2 && cl_utf8_lead_len(0xC1) == 0 && cl_utf8_lead_len(0xF5) == 0 &&
       cl_utf8_lead_len(0x80) == 0, "lead byte lengths");
    return t_done();
}
