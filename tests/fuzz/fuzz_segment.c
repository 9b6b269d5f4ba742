/* fuzz_segment.c — libFuzzer target for the streaming segmenter (lib/segmenter.c,
 * lib/segment_cut.c, lib/utf8.c, lib/sentence_filter.c) with --lossy on arbitrary bytes.
 * Byte 0 picks the token limit S, byte 1 the block size.  Checks: offsets/lengths tile the
 * input, every segment has <= S ids (or the run fails with "needs more than"), no empty segment,
 * texts are valid UTF-8, and feeding in small blocks with tiny windows gives the same segments
 * as feeding everything at once. */
#include "segmenter.h"
#include "utf8.h"
#include "util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A SentencePiece-like stand-in: leading space added, tokens of <= 3 bytes, a space starts one. */
static int enc(void *ctx, const char *t, size_t len, int32_t **ids, size_t *n) {
    (void)ctx;
    int32_t *out = cl_malloc((len + 1) * sizeof *out);
    size_t k = 0, cur = 1;
    for (size_t i = 0; i <= len; i++) {
        if ((i == len || t[i] == ' ' || cur == 3) && cur) out[k++] = (int32_t)cur, cur = 0;
        if (i < len) cur++;
    }
    *ids = out;
    *n = k;
    return 0;
}
static size_t tlen(void *ctx, int32_t id) { (void)ctx; return (size_t)id; }

typedef struct {
    char *cat;            /* concatenated texts */
    size_t cat_len, cat_cap;
    uint64_t *marks;      /* per segment: end in cat, offset, length, n_ids */
    size_t n, cap;
    uint64_t orig;
    int S;
} out_t;

static int emit(void *ctx, const cl_segment *s) {
    out_t *o = ctx;
    size_t bad;
    if (s->text_len == 0 || s->n_ids > (size_t)o->S || s->offset != o->orig) abort();
    if (cl_utf8_check(s->text, s->text_len, &bad) != s->text_len) abort();
    o->orig += s->length;
    if (o->cat_len + s->text_len > o->cat_cap) o->cat = cl_realloc(o->cat, o->cat_cap = 2 * (o->cat_len + s->text_len));
    memcpy(o->cat + o->cat_len, s->text, s->text_len);
    o->cat_len += s->text_len;
    if (o->n == o->cap) o->marks = cl_realloc(o->marks, (o->cap = 2 * o->cap + 16) * 4 * sizeof *o->marks);
    uint64_t *m = o->marks + 4 * o->n++;
    m[0] = o->cat_len, m[1] = s->offset, m[2] = s->length, m[3] = s->n_ids;
    return 0;
}

static int run(const char *text, size_t len, int S, size_t block, size_t window, out_t *o) {
    memset(o, 0, sizeof *o);
    o->S = S;
    cl_segmenter_opts opts = {.locale = "en", .max_tokens = S, .lossy = 1, .tok = {enc, tlen, NULL},
                              .emit = emit, .ctx = o, .window = window, .carry_cap = 16384};
    cl_segmenter *s = cl_segmenter_new(&opts);
    if (!s) abort();
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i += block) rc = cl_segmenter_feed(s, text + i, i + block <= len ? block : len - i);
    if (!rc) rc = cl_segmenter_end(s);
    cl_segmenter_free(s);
    if (rc && !strstr(cl_error(), "needs more than")) abort();
    if (!rc && o->orig != len) abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int S = 1 + data[0] % 24;
    size_t block = 1 + data[1] % 64;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    out_t a, b;
    int ra = run(text, len, S, len ? len : 1, 0, &a);
    int rb = run(text, len, S, block, 1 + data[1] % 7, &b);
    if (ra != rb) abort();
    if (!ra && (a.n != b.n || a.cat_len != b.cat_len ||
                (a.cat_len && memcmp(a.cat, b.cat, a.cat_len)) ||
                (a.n && memcmp(a.marks, b.marks, a.n * 4 * sizeof *a.marks))))
        abort();
    size_t bad;
    if (!ra && cl_utf8_check(text, len, &bad) == len &&
        (a.cat_len != len || (len && memcmp(a.cat, text, len))))
        abort();   /* valid input: the texts reproduce it exactly */
    free(a.cat), free(a.marks), free(b.cat), free(b.marks);
    return 0;
}
