/* test_segmenter.c — lib/segmenter.c + lib/segment_cut.c with a stand-in tokenizer:
 * byte-exact reconstruction, offsets, the <= S ids invariant, ids == encoding of the text alone,
 * sentence ends == ICU's boundaries over the whole text (computed here independently, through
 * UTF-16), identical output whatever the block and window sizes, bounded carry on a giant line,
 * invalid UTF-8 (strict error with offset, lossy repair with input offsets), empty input, CRLF. */
#include "segmenter.h"
#include "t.h"
#include "util.h"
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/ustring.h>

/* Stand-in for a SentencePiece tokenizer with a prepended "▁": the text gets a leading space,
 * every space starts a token and tokens hold at most 3 bytes (splitting characters like byte
 * fallback does).  The id encodes the token's byte length (id / 100000). */
static int fake_encode(void *ctx, const char *t, size_t len, int32_t **ids, size_t *n) {
    (void)ctx;
    int32_t *out = cl_malloc((len + 1) * sizeof *out);
    size_t k = 0, cur = 1;          /* the prepended space opens the first token */
    uint32_t h = ' ';
    for (size_t i = 0; i <= len; i++) {
        int flush = i == len || t[i] == ' ' || cur == 3;
        if (flush && cur) {
            out[k++] = (int32_t)(cur * 100000 + h % 100000);
            cur = 0;
            h = 0;
        }
        if (i < len) {
            cur++;
            h = h * 31 + (unsigned char)t[i];
        }
    }
    *ids = out;
    *n = k;
    return 0;
}
static size_t fake_len(void *ctx, int32_t id) {
    (void)ctx;
    return (size_t)id / 100000;
}
static const cl_seg_tok FAKE = {fake_encode, fake_len, NULL};

typedef struct {
    char *text;
    size_t len;
    uint64_t index, offset, length;
    int32_t *ids;
    size_t n;
    int end;
} seg;
typedef struct {
    seg *v;
    size_t n, cap;
    uint64_t replaced[16], replaced_len[16];
    size_t n_replaced;
} segs;

static int collect(void *ctx, const cl_segment *s) {
    segs *a = ctx;
    if (a->n == a->cap) a->v = cl_realloc(a->v, (a->cap = a->cap * 2 + 16) * sizeof *a->v);
    seg *d = &a->v[a->n++];
    d->text = cl_strndup(s->text, s->text_len);
    d->len = s->text_len;
    d->index = s->index;
    d->offset = s->offset;
    d->length = s->length;
    d->ids = cl_malloc((s->n_ids + 1) * sizeof *d->ids);
    memcpy(d->ids, s->ids, s->n_ids * sizeof *d->ids);
    d->n = s->n_ids;
    d->end = s->sentence_end;
    return 0;
}
static void on_replaced(void *ctx, uint64_t off, size_t n) {
    segs *a = ctx;
    if (a->n_replaced < 16) {
        a->replaced[a->n_replaced] = off;
        a->replaced_len[a->n_replaced++] = n;
    }
}
static void segs_free(segs *a) {
    for (size_t i = 0; i < a->n; i++) free(a->v[i].text), free(a->v[i].ids);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Segment text fed in blocks of `block` bytes (0 = all at once). */
static int icu_only;   /* 1 while comparing with ICU's raw breaks */

static int run(const char *text, size_t len, int S, size_t block, size_t window, size_t cap,
               int lossy, segs *out) {
    memset(out, 0, sizeof *out);
    cl_segmenter_opts o = {.locale = "en", .max_tokens = S, .lossy = lossy, .tok = FAKE,
                           .emit = collect, .ctx = out, .replaced = on_replaced,
                           .window = window, .carry_cap = cap, .icu_only = icu_only};
    cl_segmenter *s = cl_segmenter_new(&o);
    if (!s) return -1;
    int rc = 0;
    size_t b = block ? block : len;
    for (size_t i = 0; i < len && rc == 0; i += b) rc = cl_segmenter_feed(s, text + i, i + b <= len ? b : len - i);
    if (rc == 0) rc = cl_segmenter_end(s);
    cl_segmenter_free(s);
    return rc;
}

/* Reconstruction, contiguous offsets, index order, <= S, ids of the text alone. */
static void check(const char *what, const char *text, size_t len, int S, const segs *a) {
    size_t pos = 0;
    int recon = 1, offs = 1, limit = 1, ids_ok = 1, nonempty = 1;
    for (size_t i = 0; i < a->n; i++) {
        const seg *s = &a->v[i];
        if (pos + s->len > len || memcmp(text + pos, s->text, s->len)) recon = 0;
        if (s->offset != pos || s->length != s->len || s->index != i) offs = 0;
        if (s->n > (size_t)S) limit = 0;
        if (s->len == 0) nonempty = 0;
        int32_t *ids;
        size_t n;
        fake_encode(NULL, s->text, s->len, &ids, &n);
        if (n != s->n || memcmp(ids, s->ids, n * sizeof *ids)) ids_ok = 0;
        free(ids);
        pos += s->len;
    }
    OK(recon && pos == len, "%s S=%d: texts concatenate to the input (%zu segments)", what, S, a->n);
    OK(offs, "%s S=%d: offset/length/index consistent with the input bytes", what, S);
    OK(limit, "%s S=%d: every segment has <= S ids", what, S);
    OK(ids_ok && nonempty, "%s S=%d: ids are those of each text encoded alone, no empty segment", what, S);
}

static int same(const segs *a, const segs *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const seg *x = &a->v[i], *y = &b->v[i];
        if (x->len != y->len || memcmp(x->text, y->text, x->len) || x->offset != y->offset ||
            x->n != y->n || memcmp(x->ids, y->ids, x->n * sizeof *x->ids) || x->end != y->end)
            return 0;
    }
    return 1;
}

/* ICU sentence boundaries over the whole text via UTF-16 (not the library's UTF-8 UText),
 * as byte offsets; returns how many (excluding 0). */
static size_t icu_breaks(const char *text, size_t len, size_t *out, size_t max) {
    UErrorCode st = U_ZERO_ERROR;
    int32_t n16 = 0;
    u_strFromUTF8(NULL, 0, &n16, text, (int32_t)len, &st);
    st = U_ZERO_ERROR;
    UChar *u = cl_malloc((size_t)(n16 + 1) * sizeof *u);
    u_strFromUTF8(u, n16 + 1, NULL, text, (int32_t)len, &st);
    UBreakIterator *bi = ubrk_open(UBRK_SENTENCE, "en", u, n16, &st);
    size_t k = 0;
    for (int32_t b = ubrk_next(bi); b != UBRK_DONE && k < max; b = ubrk_next(bi)) {
        int32_t nb = 0;
        UErrorCode s2 = U_ZERO_ERROR;
        u_strToUTF8(NULL, 0, &nb, u, b, &s2);
        out[k++] = (size_t)nb;
    }
    ubrk_close(bi);
    free(u);
    return k;
}

static void check_sentence_ends(const char *what, const char *text, size_t len, const segs *a) {
    size_t br[512], nb = icu_breaks(text, len, br, 512), j = 0, ends = 0;
    int ok = 1;
    size_t pos = 0;
    for (size_t i = 0; i < a->n; i++) {
        pos += a->v[i].len;
        while (j < nb && br[j] < pos) ok = 0, j++;        /* an ICU break inside a segment */
        int is_break = j < nb && br[j] == pos;
        if (is_break) j++;
        if (a->v[i].end != is_break) ok = 0;              /* "sentence" exactly at ICU breaks */
        ends += a->v[i].end;
    }
    OK(ok && j == nb && nb > 0, "%s: \"sentence\" ends are exactly ICU's %zu breaks (%zu)", what, nb, ends);
}

static void file_tests(const char *path) {
    char *text;
    size_t len;
    if (cl_read_file(path, &text, &len)) {
        OK(0, "read %s: %s", path, cl_error());
        return;
    }
    const char *what = strrchr(path, '/') + 1;
    segs ref;
    int sizes[] = {2, 5, 20, 1000};
    for (int i = 0; i < 4; i++) {
        OK(run(text, len, sizes[i], 0, 0, 0, 0, &ref) == 0, "%s S=%d: runs", what, sizes[i]);
        check(what, text, len, sizes[i], &ref);
        segs_free(&ref);
    }
    icu_only = 1;
    OK(run(text, len, 1000, 0, 0, 0, 0, &ref) == 0, "%s ICU breaks only: runs", what);
    check_sentence_ends(what, text, len, &ref);
    segs_free(&ref);
    icu_only = 0;
    /* with the filter: every sentence end is one of ICU's breaks, or one moved forward over
     * whitespace only; no segment but the first starts with whitespace */
    {
        size_t br[512], nb = icu_breaks(text, len, br, 512), pos = 0, j = 0, ends = 0;
        int subset = 1, ws_start = 0;
        run(text, len, 1000, 0, 0, 0, 0, &ref);
        for (size_t i = 0; i < ref.n; i++) {
            pos += ref.v[i].len;
            while (j + 1 < nb && br[j + 1] <= pos) j++;
            if (j == nb || br[j] > pos) subset = 0;
            else
                for (size_t x = br[j]; x < pos; x++) subset &= strchr(" \t\r\n", text[x]) != NULL;
            if (i > 0 && strchr(" \t\r\n", ref.v[i].text[0])) ws_start = 1;
            ends++;
        }
        OK(subset && ends <= nb, "%s: sentence ends are ICU's breaks, possibly moved over whitespace (%zu of %zu)",
           what, ends, nb);
        OK(!ws_start, "%s: whitespace stays with the text before it (no segment starts with it)", what);
        segs_free(&ref);
    }
    /* streaming: any block and window size gives the same segments */
    run(text, len, 20, 0, 0, 0, 0, &ref);
    size_t blocks[] = {1, 3, 17, 100}, windows[] = {1, 5, 64, 1};
    int all_same = 1;
    for (int i = 0; i < 4; i++) {
        segs b;
        if (run(text, len, 20, blocks[i], windows[i], 0, 0, &b) || !same(&ref, &b)) all_same = 0;
        segs_free(&b);
    }
    OK(all_same, "%s: blocks of 1/3/17/100 bytes, tiny windows: identical segments", what);
    segs_free(&ref);

    /* CRLF version of the same text: reconstruction, and no segment starts between CR and LF */
    size_t nl = 0;
    for (size_t i = 0; i < len; i++) nl += text[i] == '\n';
    char *crlf = cl_malloc(len + nl + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') crlf[k++] = '\r';
        crlf[k++] = text[i];
    }
    run(crlf, k, 20, 7, 16, 0, 0, &ref);
    check("CRLF", crlf, k, 20, &ref);
    int split_crlf = 0;
    for (size_t i = 0; i < ref.n; i++) split_crlf |= ref.v[i].text[0] == '\n';
    OK(!split_crlf, "%s CRLF: CR and LF stay in one segment", what);
    segs_free(&ref);
    free(crlf);
    free(text);
}

int main(void) {
    const char *files[] = {"tests/data/segment-en.txt", "tests/data/segment-de.txt",
                           "tests/data/segment-zh.txt", "tests/data/segment-ja.txt",
                           "tests/data/segment-urls.txt"};
    for (int i = 0; i < 5; i++) file_tests(files[i]);

    segs a;
    OK(run("", 0, 20, 0, 0, 0, 0, &a) == 0 && a.n == 0, "empty input: no segments, no error");
    segs_free(&a);
    OK(run("   \n\n", 5, 20, 0, 0, 0, 0, &a) == 0, "whitespace-only input runs");
    check("whitespace only", "   \n\n", 5, 20, &a);
    segs_free(&a);

    /* giant line without punctuation: cut by tokens, emitted while reading (bounded carry) */
    size_t big = 300000;
    char *g = cl_malloc(big);
    for (size_t i = 0; i < big; i++) g[i] = "lorem ipsum dolor sit amet "[i % 27];
    memset(&a, 0, sizeof a);
    cl_segmenter_opts o = {.locale = "en", .max_tokens = 20, .tok = FAKE, .emit = collect,
                           .ctx = &a, .window = 4096, .carry_cap = 16384};
    cl_segmenter *s = cl_segmenter_new(&o);
    int rc = 0;
    for (size_t i = 0; i < big && !rc; i += 4096) rc = cl_segmenter_feed(s, g + i, i + 4096 <= big ? 4096 : big - i);
    size_t before = 0;
    for (size_t i = 0; i < a.n; i++) before += a.v[i].len;
    rc |= cl_segmenter_end(s);
    cl_segmenter_free(s);
    OK(rc == 0 && before >= big - 40000, "giant line: %zu of %zu bytes emitted before the end (bounded carry)", before, big);
    check("giant line", g, big, 20, &a);
    int ends_ok = 1, word_cuts = 1;
    for (size_t i = 0; i < a.n; i++) {
        ends_ok &= a.v[i].end == (i + 1 == a.n);
        if (i + 1 < a.n) word_cuts &= a.v[i].text[a.v[i].len - 1] == ' ';
    }
    OK(ends_ok, "giant line: all cuts are \"tokens\" ends but the last");
    OK(word_cuts, "giant line: cuts fall at word starts (whitespace kept with the piece before)");
    segs_free(&a);
    memset(g, 'x', big);
    OK(run(g, 100000, 7, 1000, 0, 16384, 0, &a) == 0, "100 kB without spaces: runs");
    check("no spaces", g, 100000, 7, &a);
    segs_free(&a);
    free(g);

    /* multibyte characters never cut: 3-byte chars, tokens of 3 bytes each plus the leading space */
    const char *zh = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十";
    OK(run(zh, strlen(zh), 2, 0, 0, 0, 0, &a) == 0, "CJK with S=2 runs");
    check("CJK S=2", zh, strlen(zh), 2, &a);
    int whole_chars = 1;
    for (size_t i = 0; i < a.n; i++) whole_chars &= a.v[i].len % 3 == 0;
    OK(whole_chars, "CJK S=2: no character is cut");
    segs_free(&a);
    /* text without spaces is preferably cut after a CJK comma */
    const char *cjk = "一二三四，五六七八，九十一二三四五";
    OK(run(cjk, strlen(cjk), 7, 0, 0, 0, 0, &a) == 0 && a.n >= 2 && a.v[0].len == 15 &&
           !memcmp(a.v[0].text + 12, "，", 3) && a.v[1].len == 15,
       "CJK S=7: cuts after the commas (%zu pieces, first %zu bytes)", a.n, a.n ? a.v[0].len : 0);
    check("CJK commas", cjk, strlen(cjk), 7, &a);
    segs_free(&a);
    OK(run("a b", 3, 1, 0, 0, 0, 0, &a) == -1 && strstr(cl_error(), "more than 1 tokens"),
       "a character that cannot fit is an error: %s", cl_error());
    segs_free(&a);

    /* invalid UTF-8 */
    const char bad[] = "ab\xff" "cd. \xe2\x82 ef. Ok.\xc3";
    size_t blen = sizeof bad - 1;
    OK(run(bad, blen, 20, 0, 0, 0, 0, &a) == -1 && strstr(cl_error(), "offset 2: invalid UTF-8 (byte 0xFF"),
       "strict: invalid byte is an error with its offset: %s", cl_error());
    segs_free(&a);
    OK(run("Fine. Then\xc3", 11, 20, 0, 0, 0, 0, &a) == -1 && strstr(cl_error(), "offset 10:") &&
           strstr(cl_error(), "truncated"),
       "strict: truncated sequence at the end: %s", cl_error());
    segs_free(&a);
    int same_lossy = 1;
    for (size_t blk = 0; blk < 5; blk++) {
        OK(run(bad, blen, 20, blk, blk ? 1 : 0, 0, 1, &a) == 0, "lossy (block %zu): runs", blk);
        const char *want = "ab\xEF\xBF\xBD" "cd. \xEF\xBF\xBD ef. Ok.\xEF\xBF\xBD";
        size_t pos = 0, opos = 0, cat_ok = 1;
        for (size_t i = 0; i < a.n; i++) {
            cat_ok &= !memcmp(want + pos, a.v[i].text, a.v[i].len) && a.v[i].offset == opos;
            pos += a.v[i].len;
            opos += a.v[i].length;
        }
        same_lossy &= cat_ok && pos == strlen(want) && opos == blen && a.n_replaced == 3 &&
                      a.replaced[0] == 2 && a.replaced_len[0] == 1 && a.replaced[1] == 7 &&
                      a.replaced_len[1] == 2 && a.replaced[2] == 17 && a.replaced_len[2] == 1;
        segs_free(&a);
    }
    OK(same_lossy, "lossy: U+FFFD per ill-formed subpart, reported at input offsets 2, 7, 17; "
                   "offsets/lengths in input bytes, whatever the block size");
    return t_done();
}
