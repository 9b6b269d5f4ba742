/* test_utf8_name.c — source names as the formats store them: cl_utf8_name (\xHH escapes, cut at
 * a character boundary), cl_utf8_floor, and the CE writer's 65535-byte cut read back as valid
 * UTF-8 (checked by cl_utf8_validate, itself cross-checked against ICU in test_utf8). */
#include <stdlib.h>
#include <string.h>
#include "ce.h"
#include "t.h"
#include "utf8.h"
#include "util.h"

int main(void) {
    char *n = cl_utf8_name("plain/dir/file.txt", 65535);
    OK(!strcmp(n, "plain/dir/file.txt"), "a valid name comes back unchanged");
    free(n);
    n = cl_utf8_name("a\xff\xfe" "b\xc3", 65535);
    OK(!strcmp(n, "a\\xFF\\xFEb\\xC3"), "invalid bytes (and a cut sequence) become \\xHH: %s", n);
    OK(cl_utf8_validate(n, strlen(n)) == strlen(n), "the result is valid UTF-8");
    free(n);
    n = cl_utf8_name("\xed\xa0\x80", 65535);   /* a surrogate: 3 invalid bytes */
    OK(!strcmp(n, "\\xED\\xA0\\x80"), "surrogates are escaped byte by byte: %s", n);
    free(n);
    n = cl_utf8_name("ab\xc3\xa9", 3);
    OK(!strcmp(n, "ab"), "cut before a character that does not fit: \"%s\"", n);
    free(n);
    n = cl_utf8_name("a\xff", 4);
    OK(!strcmp(n, "a"), "cut before an escape that does not fit: \"%s\"", n);
    free(n);

    OK(cl_utf8_floor("ab\xc3\xa9", 4, 3) == 2 && cl_utf8_floor("ab\xc3\xa9", 4, 4) == 4 &&
           cl_utf8_floor("ab\xc3\xa9", 4, 9) == 4 && cl_utf8_floor("\xe4\xbd\xa0", 3, 2) == 0,
       "cl_utf8_floor stops at character starts");

    /* a 70000-byte name of two-byte characters in a CE record: cut to 65534 bytes, valid UTF-8 */
    size_t len = 70000;
    char *big = cl_malloc(len + 1);
    for (size_t i = 0; i < len; i += 2) memcpy(big + i, "\xc3\xa9", 2);
    big[len] = 0;
    cl_ce_meta m = {.dim = 4, .count = 1, .dtype = CL_F32, .source = big};
    float e[4] = {1, 2, 3, 4};
    uint8_t *buf;
    size_t nb = cl_ce_encode(&m, e, &buf);
    OK(nb > 0, "encoded a record with a 70000-byte name");
    cl_ce_reader *r = cl_ce_open_mem(buf, nb, "mem");
    cl_ce_meta got;
    const float *ge;
    int rc = cl_ce_next(r, &got, &ge);
    OK(rc == 1 && strlen(got.source) == 65534, "read back: name of %zu bytes (65535 would split a character)",
       rc == 1 ? strlen(got.source) : 0);
    OK(rc == 1 && cl_utf8_validate(got.source, strlen(got.source)) == strlen(got.source), "and valid UTF-8");
    cl_ce_close(r);
    free(buf);
    free(big);
    return t_done();
}
