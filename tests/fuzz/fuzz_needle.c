/* fuzz_needle.c — libFuzzer target for cl-eval's needle documents (lib/eval_needle.c): sentence
 * cutting and the name filter over arbitrary texts.  Input: byte 0 the token budget, byte 1 the
 * depth (/255), the rest up to 8 NUL-separated pool texts.  Checks: the needle appears at
 * needle_off, after exactly `before` = round(depth * n_sent) sentences' worth of text; the
 * budget holds unless a single sentence exceeds it; every filler sentence is part of a pool text
 * and has no line break; the same input gives the same document. */
#include "eval_needle.h"
#include "util.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int words(void *ctx, const char *s) {
    (void)ctx;
    int n = 0;
    for (const char *p = s; *p; p++) n += (p == s || p[-1] == ' ') && *p != ' ';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int target = data[0];
    double depth = data[1] / 255.0;
    char *buf = cl_malloc(size - 1);
    memcpy(buf, data + 2, size - 2);
    buf[size - 2] = 0;
    const char *pool[8];
    int n = 0;
    for (char *p = buf; n < 8 && p < buf + size - 2;) {
        pool[n++] = p;
        p += strlen(p) + 1;
    }
    cl_needle_doc d, e;
    if (cl_needle_make(pool, n, target, depth, 1, words, NULL, &d) == 0) {
        size_t nl = strlen(d.needle);
        if (strncmp(d.context + d.needle_off, d.needle, nl) != 0) abort();
        if (d.before != (int)floor(depth * d.n_sent + 0.5)) abort();
        if (d.n_sent > 1 && d.tokens > target) abort();
        if (strchr(d.context, '\n')) abort();
        /* the filler around the needle is made of pool text: check each space-free run */
        char *c = cl_strdup(d.context);
        memset(c + d.needle_off, ' ', nl);
        for (char *w = strtok(c, " "); w; w = strtok(NULL, " ")) {
            int found = 0;
            for (int i = 0; i < n && !found; i++) found = strstr(pool[i], w) != NULL;
            if (!found) abort();
        }
        free(c);
        if (cl_needle_make(pool, n, target, depth, 1, words, NULL, &e) != 0 || strcmp(d.context, e.context)) abort();
        cl_needle_free(&e);
        cl_needle_free(&d);
    }
    free(buf);
    return 0;
}
