/* test_utf8_valid.c — cl_utf8_check: offsets of the first ill-formed sequence, the length of its
 * maximal subpart (the expectations follow Unicode 15 §3.9 "U+FFFD substitution of maximal
 * subparts", the same counts as Python's bytes.decode("utf-8", "replace")), truncation at the end. */
#include "t.h"
#include "utf8.h"
#include <string.h>

static void chk(const char *s, size_t n, size_t want_off, size_t want_bad, const char *what) {
    size_t bad = 99, off = cl_utf8_check(s, n, &bad);
    OK(off == want_off && bad == want_bad, "%s: offset %zu bad %zu (want %zu %zu)", what, off, bad,
       want_off, want_bad);
}

int main(void) {
    chk("", 0, 0, 0, "empty");
    chk("plain ASCII text, longer than 8 bytes", 37, 37, 0, "ASCII");
    chk("Grüße 世界 😀", strlen("Grüße 世界 😀"), strlen("Grüße 世界 😀"), 0, "2-, 3-, 4-byte sequences");
    chk("abc\xff", 4, 3, 1, "0xFF");
    chk("abcdefghij\x80", 11, 10, 1, "lone continuation after the fast path");
    chk("\xc0\xaf", 2, 0, 1, "overlong C0 AF: C0 alone");
    chk("\xc1\xbf", 2, 0, 1, "overlong C1");
    chk("\xe0\x80\x80", 3, 0, 1, "overlong E0 80: E0 alone");
    chk("\xed\xa0\x80", 3, 0, 1, "surrogate ED A0: ED alone");
    chk("\xf4\x90\x80\x80", 4, 0, 1, "above U+10FFFF: F4 alone");
    chk("\xf5\x80", 2, 0, 1, "F5 never leads");
    chk("\xe2\x82 x", 4, 0, 2, "E2 82 then space: 2-byte maximal subpart");
    chk("\xf0\x9f\x98x", 4, 0, 3, "F0 9F 98 then x: 3-byte maximal subpart");
    chk("ok\xe2\x82", 4, 2, 0, "E2 82 at the end: truncated, wait for more");
    chk("ok\xf0", 3, 2, 0, "F0 at the end: truncated");
    chk("\xed\x9f\xbf", 3, 3, 0, "U+D7FF is valid");
    chk("\xf4\x8f\xbf\xbf", 4, 4, 0, "U+10FFFF is valid");
    chk("\xef\xbf\xbd", 3, 3, 0, "U+FFFD is valid");
    return t_done();
}
