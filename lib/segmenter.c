/* segmenter.c — see segmenter.h.
 *
 * Buffer: buf[0..valid) is checked (and, with lossy, repaired) UTF-8 starting at a committed
 * sentence boundary; buf[valid..blen) is an incomplete multi-byte sequence waiting for its next
 * bytes.  "Positions" are offsets in the repaired stream; lossy repairs are queued as events so
 * that emitted offsets/lengths can be given in the original input's bytes.
 *
 * Why the last TWO sentences are carried: ICU decides a break by looking ahead (rule SB8 looks
 * past digits and punctuation for a lowercase letter), so the break before the last, unfinished
 * sentence may still change when more text arrives; the break before that one was decided by
 * text that ended within the following, complete sentence, which more input cannot change. */
#include "segmenter.h"
#include "sentence_filter.h"
#include "utf8.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/utext.h>

#define DEFAULT_WINDOW (64u << 10)
#define DEFAULT_CAP (1u << 20)
#define MIN_CAP (16u << 10)

typedef struct { uint64_t pos; uint32_t delta; } repair;   /* at pos, 3 bytes replaced delta fewer */

struct cl_segmenter {
    cl_segmenter_opts o;
    UBreakIterator *bi;
    UText *ut;
    char *buf;
    size_t cap, blen, valid, scanned;
    uint64_t base;           /* position of buf[0] */
    uint64_t index;          /* next segment's index */
    uint64_t orig_pos;       /* input offset of the next segment */
    uint64_t pending_delta;  /* sum of the deltas of all events so far */
    uint64_t passed_delta;   /* sum of the deltas of events before the last emitted end */
    repair *ev;
    size_t ev_head, ev_n, ev_cap;
    char *in;                /* scratch: incomplete tail + new bytes */
    size_t in_cap;
    int32_t *brk;            /* boundaries of the last pass */
    size_t brk_cap;
    /* the span being split */
    uint64_t span_pos;
    int span_final;
};

const char *cl_segmenter_env_locale(void) {
    static char loc[64];
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        size_t n = strcspn(v, ".@");
        if (n == 0 || n >= sizeof loc || !strncmp(v, "C", n) || !strncmp(v, "POSIX", n)) break;
        memcpy(loc, v, n);
        loc[n] = 0;
        return loc;
    }
    return "en";
}

cl_segmenter *cl_segmenter_new(const cl_segmenter_opts *o) {
    if (o->max_tokens < 1) {
        cl_fail("token limit must be at least 1 (got %d)", o->max_tokens);
        return NULL;
    }
    UErrorCode st = U_ZERO_ERROR;
    const char *loc = o->locale ? o->locale : "en";
    UBreakIterator *bi = ubrk_open(UBRK_SENTENCE, loc, NULL, 0, &st);
    if (U_FAILURE(st)) {
        cl_fail("ICU sentence break iterator for locale \"%s\": %s", loc, u_errorName(st));
        return NULL;
    }
    cl_segmenter *s = cl_calloc(1, sizeof *s);
    s->o = *o;
    if (!s->o.window) s->o.window = DEFAULT_WINDOW;
    if (!s->o.carry_cap) s->o.carry_cap = DEFAULT_CAP;
    if (s->o.carry_cap < MIN_CAP) s->o.carry_cap = MIN_CAP;
    s->bi = bi;
    return s;
}

void cl_segmenter_free(cl_segmenter *s) {
    if (!s) return;
    ubrk_close(s->bi);
    if (s->ut) utext_close(s->ut);
    free(s->buf);
    free(s->ev);
    free(s->in);
    free(s->brk);
    free(s);
}

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void reserve(char **p, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    *p = cl_realloc(*p, c);
    *cap = c;
}

/* Emit text at buf[a..a+len) (a piece of a sentence, or all of it). */
static int emit(cl_segmenter *s, size_t a, size_t len, const int32_t *ids, size_t n, int sent_end) {
    uint64_t end = s->base + a + len;
    while (s->ev_n && s->ev[s->ev_head].pos < end) {
        s->passed_delta += s->ev[s->ev_head].delta;
        s->ev_head++;
        s->ev_n--;
    }
    uint64_t orig_end = end - s->passed_delta;
    cl_segment seg = {.text = s->buf + a, .text_len = len, .index = s->index++, .offset = s->orig_pos,
                  .length = orig_end - s->orig_pos, .ids = ids, .n_ids = n,
                  .sentence_end = sent_end};
    s->orig_pos = orig_end;
    return s->o.emit(s->o.ctx, &seg);
}

static int on_piece(void *ctx, size_t off, size_t len, const int32_t *ids, size_t n, int last) {
    cl_segmenter *s = ctx;
    return emit(s, (size_t)(s->span_pos + off), len, ids, n, last && s->span_final);
}

/* Split buf[a..b) into pieces; final = the span is a whole sentence.  Returns bytes done. */
static int split(cl_segmenter *s, size_t a, size_t b, int final, size_t *done) {
    s->span_pos = a;
    s->span_final = final;
    return cl_segment_cut(&s->o.tok, s->buf + a, b - a, s->o.max_tokens, final, on_piece, s, done);
}

/* One break-iterator pass over buf[0..valid); emits what is settled and drops it from buf. */
static int process(cl_segmenter *s, int final) {
    size_t L = s->valid;
    s->scanned = L;
    if (L == 0) return 0;
    UErrorCode st = U_ZERO_ERROR;
    s->ut = utext_openUTF8(s->ut, s->buf, (int64_t)L, &st);
    ubrk_setUText(s->bi, s->ut, &st);
    if (U_FAILURE(st)) return cl_fail("ICU: %s", u_errorName(st));
    size_t k = 0;
    for (int32_t b = ubrk_first(s->bi); b != UBRK_DONE; b = ubrk_next(s->bi)) {
        if (k == s->brk_cap) {
            s->brk_cap = s->brk_cap ? 2 * s->brk_cap : 256;
            s->brk = cl_realloc(s->brk, s->brk_cap * sizeof *s->brk);
        }
        s->brk[k++] = b;
    }
    if (k == 0 || s->brk[k - 1] != (int32_t)L) return cl_fail("ICU: sentence breaks do not reach the end");
    if (!s->o.icu_only) {
        /* ICU puts the whitespace after a newline (indentation, blank lines) with the next
         * sentence: move such breaks past it, so that whitespace stays with the text it
         * follows and a blank line is no segment of its own; then drop breaks after
         * abbreviations etc.  Each decision reads only up to the next ICU break, which is
         * settled for every break that gets emitted (see the top of this file). */
        size_t j = 1;
        for (size_t i = 1; i + 1 < k; i++) {
            size_t b = (size_t)s->brk[i], next = (size_t)s->brk[i + 1];
            while (b < next && is_ws((unsigned char)s->buf[b])) b++;
            if (b == next) continue;   /* whitespace only: stays with the sentence before */
            if (cl_sentence_break_suppressed(s->buf, L, (size_t)s->brk[j - 1], b)) continue;
            s->brk[j++] = (int32_t)b;
        }
        s->brk[j++] = s->brk[k - 1];
        k = j;
    }
    size_t nsent = k - 1, keep = final ? nsent : nsent >= 2 ? nsent - 2 : 0, done = 0;
    for (size_t i = 0; i < keep; i++)
        if (split(s, (size_t)s->brk[i], (size_t)s->brk[i + 1], 1, &done)) return -1;
    size_t c = final ? L : (size_t)s->brk[keep];
    if (!final && L - c > s->o.carry_cap) {
        if (keep + 1 < nsent) {   /* emit the second-to-last sentence after all */
            if (split(s, c, (size_t)s->brk[keep + 1], 1, &done)) return -1;
            c = (size_t)s->brk[keep + 1];
        }
        if (L - c > s->o.carry_cap) {   /* no break for carry_cap bytes: cut by tokens */
            if (split(s, c, L, 0, &done)) return -1;
            c += done;
        }
    }
    memmove(s->buf, s->buf + c, s->blen - c);
    s->blen -= c;
    s->valid -= c;
    s->scanned -= c;
    s->base += c;
    return 0;
}

static void add_repair(cl_segmenter *s, size_t bad) {
    uint64_t pos = s->base + s->valid;
    if (s->o.replaced) s->o.replaced(s->o.ctx, pos - s->pending_delta, bad);
    if (s->ev_head + s->ev_n == s->ev_cap) {
        if (s->ev_head) {
            memmove(s->ev, s->ev + s->ev_head, s->ev_n * sizeof *s->ev);
            s->ev_head = 0;
        } else {
            s->ev_cap = s->ev_cap ? 2 * s->ev_cap : 64;
            s->ev = cl_realloc(s->ev, s->ev_cap * sizeof *s->ev);
        }
    }
    s->ev[s->ev_head + s->ev_n++] = (repair){pos, (uint32_t)(3 - bad)};
    s->pending_delta += 3 - bad;
    memcpy(s->buf + s->valid, "\xEF\xBF\xBD", 3);
    s->valid += 3;
}

/* Append in[0..n) to buf[valid..], checking (and with lossy repairing) it; an incomplete
 * sequence at the end stays in buf[valid..blen). */
static int append_checked(cl_segmenter *s, const char *in, size_t n, int at_end) {
    reserve(&s->buf, &s->cap, s->valid + (s->o.lossy ? 3 * n : n) + 3);
    size_t i = 0;
    while (i < n) {
        size_t bad, ok = cl_utf8_check(in + i, n - i, &bad);
        memcpy(s->buf + s->valid, in + i, ok);
        s->valid += ok;
        i += ok;
        if (i == n) break;
        if (bad == 0 && !at_end) {   /* incomplete: wait for the next bytes */
            memcpy(s->buf + s->valid, in + i, n - i);
            s->blen = s->valid + (n - i);
            return 0;
        }
        if (bad == 0) bad = n - i;   /* truncated by the end of the input */
        uint64_t off = s->base + s->valid - s->pending_delta;
        if (!s->o.lossy)
            return cl_fail("offset %llu: invalid UTF-8 (byte 0x%02X%s)", (unsigned long long)off,
                           (unsigned char)in[i], at_end && i + bad == n ? ", truncated at end of input" : "");
        add_repair(s, bad);
        i += bad;
    }
    s->blen = s->valid;
    return 0;
}

int cl_segmenter_feed(cl_segmenter *s, const char *data, size_t n) {
    /* big blocks in slices: the buffer (and ICU's int32 offsets) stay small */
    const size_t slice = 4u << 20;
    while (n > slice) {
        if (cl_segmenter_feed(s, data, slice)) return -1;
        data += slice;
        n -= slice;
    }
    if (n == 0) return 0;
    size_t tail = s->blen - s->valid;
    reserve(&s->in, &s->in_cap, tail + n);
    if (tail) memcpy(s->in, s->buf + s->valid, tail);
    memcpy(s->in + tail, data, n);
    s->blen = s->valid;
    if (append_checked(s, s->in, tail + n, 0)) return -1;
    if (s->valid - s->scanned >= s->o.window) return process(s, 0);
    return 0;
}

int cl_segmenter_end(cl_segmenter *s) {
    int rc = 0;
    size_t tail = s->blen - s->valid;
    if (tail) {
        char t[4];
        memcpy(t, s->buf + s->valid, tail);
        s->blen = s->valid;
        rc = append_checked(s, t, tail, 1);
    }
    if (rc == 0) rc = process(s, 1);
    s->blen = s->valid = s->scanned = 0;
    s->base = s->index = s->orig_pos = 0;
    s->pending_delta = s->passed_delta = 0;
    s->ev_head = s->ev_n = 0;
    return rc;
}
