/* segment_cut.c — see segment_cut.h.
 *
 * The span is encoded a window (a few KiB) at a time; the window's token lengths give a map
 * from token index to byte offset, from which each piece's end is estimated (the end of its S-th
 * token).  The estimate is snapped to a word start or character boundary, the piece is encoded
 * alone, and the cut moves back until the piece has at most S ids.  Tokens near the end of a
 * window are not trusted (BPE there would merge differently with more text), so a new window
 * is encoded from the last cut when the estimate gets close to the window's end. */
#include "segment_cut.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

#define WINDOW 4096   /* bytes encoded at once for the map (grown if a window makes no progress) */

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whether t[w] follows whitespace or a CJK comma/colon/semicolon/ideographic space
 * (U+3001 、 U+FF0C ， U+FF1A ： U+FF1B ； U+3000), the places to cut text without spaces. */
static int after_separator(const char *t, size_t w) {
    if (is_space((unsigned char)t[w - 1])) return 1;
    if (w < 3) return 0;
    const unsigned char *c = (const unsigned char *)t + w - 3;
    return (c[0] == 0xE3 && c[1] == 0x80 && (c[2] == 0x81 || c[2] == 0x80)) ||
           (c[0] == 0xEF && c[1] == 0xBC && (c[2] == 0x8C || c[2] == 0x9A || c[2] == 0x9B));
}

/* Largest character boundary <= x that is not between CR and LF (x > 0 assumed on a valid
 * UTF-8 span, lo = floor). */
static size_t char_floor(const char *t, size_t x, size_t lo) {
    while (x > lo && (((unsigned char)t[x] & 0xC0) == 0x80 || (t[x] == '\n' && t[x - 1] == '\r'))) x--;
    return x;
}

/* Most bytes in one piece: S tokens of 64 bytes on average (at least 4 KiB).  Only a run the
 * tokenizer folds into few ids (a fused <unk> over a run of unknown characters) gets near it. */
static size_t max_piece_bytes(int S) {
    size_t b = (size_t)S * 64;
    return b < 4096 ? 4096 : b;
}

typedef struct {
    const cl_seg_tok *tok;
    const char *t;       /* window text (starts at a piece boundary) */
    size_t wlen;         /* window length */
    size_t *ends;        /* ends[i]: byte offset where window token i ends */
    size_t n;            /* tokens in the window */
} map;

static int build_map(map *m, const int32_t *ids, size_t n, size_t *cap) {
    if (n > *cap) {
        *cap = n + n / 2 + 16;
        m->ends = cl_realloc(m->ends, *cap * sizeof *m->ends);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += m->tok->token_len(m->tok->ctx, ids[i]);
        m->ends[i] = total;
    }
    /* A tokenizer that prepends "▁" decodes to more bytes than the text: shift the map back. */
    size_t shift = total > m->wlen ? total - m->wlen : 0;
    for (size_t i = 0; i < n; i++) {
        size_t e = m->ends[i] > shift ? m->ends[i] - shift : 0;
        m->ends[i] = e < m->wlen ? e : m->wlen;
    }
    m->n = n;
    return 0;
}

/* The word start in [lo_w, hi] (after whitespace, before non-whitespace) nearest to ideal,
 * or 0. */
static size_t word_cut(const map *m, size_t p, size_t lo_w, size_t hi, size_t ideal) {
    const char *t = m->t;
    if (lo_w < p + 1) lo_w = p + 1;
    size_t best = 0, best_d = (size_t)-1;
    for (size_t w = hi; w >= lo_w; w--)
        if (w < m->wlen && after_separator(t, w) && !is_space((unsigned char)t[w])) {
            size_t d = w > ideal ? w - ideal : ideal - w;
            if (d < best_d) best = w, best_d = d;
            if (w < ideal) break;   /* the ones further down are further away */
        }
    return best;
}

/* Inside a run of whitespace (after a space, before a space, not between CR and LF), nearest to
 * ideal in (p, hi], or 0: where a sentence trailed by many blank lines is cut, rather than
 * inside its words. */
static size_t space_cut(const map *m, size_t p, size_t hi, size_t ideal) {
    const char *t = m->t;
    size_t best = 0, best_d = (size_t)-1;
    for (size_t w = p + 1; w <= hi && w < m->wlen; w++)
        if (is_space((unsigned char)t[w - 1]) && is_space((unsigned char)t[w]) && !(t[w - 1] == '\r' && t[w] == '\n')) {
            size_t d = w > ideal ? w - ideal : ideal - w;
            if (d < best_d) best = w, best_d = d;
        }
    return best;
}

/* When the rest of the span is text followed by blank lines: the end of the text and its line
 * break, if that is in (p, hi] and more line breaks follow; else 0.  A short sentence trailed by
 * many blank lines stays whole, the blank lines go in pieces of their own. */
static size_t tail_cut(const map *m, size_t p, size_t hi) {
    const char *t = m->t;
    size_t e = m->wlen;
    while (e > p && is_space((unsigned char)t[e - 1])) e--;
    if (e <= p) return 0;
    if (e + 1 < m->wlen && t[e] == '\r' && t[e + 1] == '\n') e += 2;
    else if (e < m->wlen && t[e] == '\n') e++;
    else return 0;
    if (e > hi || !memchr(t + e, '\n', m->wlen - e)) return 0;
    return e;
}

/* The last token boundary at or before ideal (<= hi), else the last character boundary there,
 * else at hi; 0 when there is none after p. */
static size_t token_cut(const map *m, size_t p, size_t k, size_t hi, size_t ideal) {
    const char *t = m->t;
    if (ideal > hi) ideal = hi;
    for (size_t i = m->n; i-- > k;) {
        if (m->ends[i] > ideal) continue;
        size_t b = char_floor(t, m->ends[i], p);
        if (b > p) return b;
        break;
    }
    size_t b = char_floor(t, ideal, p);
    if (b > p) return b;
    b = char_floor(t, hi, p);
    return b > p ? b : 0;
}

int cl_segment_cut(const cl_seg_tok *tok, const char *text, size_t len, int S, int final,
                   cl_cut_fn emit, void *ctx, size_t *done) {
    if (S < 1) return cl_fail("token limit must be at least 1");
    map m = {.tok = tok};
    size_t mcap = 0, window = WINDOW, pos = 0, maxb = max_piece_bytes(S);
    int32_t *ids = NULL, *pids = NULL;
    size_t n = 0, pn = 0, extra = 0;   /* extra: ids a piece gets beyond its mapped tokens */
    int replan = 0;
    int rc = -1;
    for (;;) {
        size_t rem = len - pos;
        if (!final && rem <= window) break;
        m.t = text + pos;
        m.wlen = rem <= window ? rem : char_floor(m.t, window, 0);
        free(ids);
        ids = NULL;
        if (tok->encode(tok->ctx, m.t, m.wlen, &ids, &n)) goto out;
        int whole = m.wlen == rem;      /* the window reaches the end of the span */
        if (whole && final && n <= (size_t)S && rem <= maxb) {
            if (emit(ctx, pos, rem, ids, n, 1)) goto out;
            pos = len;
            break;
        }
        build_map(&m, ids, n, &mcap);
        size_t margin = whole ? 0 : m.wlen / 4;
        size_t p = 0, k = 0;
        for (;;) {
            /* k: first map token starting at or after p */
            while (k < m.n && (k ? m.ends[k - 1] : 0) < p) k++;
            size_t left = m.n - k;
            if (whole && final && left <= (size_t)S && m.wlen - p <= maxb) {
                /* the rest may fit: try it as the last piece */
                free(pids);
                pids = NULL;
                if (tok->encode(tok->ctx, m.t + p, m.wlen - p, &pids, &pn)) goto out;
                if (pn <= (size_t)S) {
                    if (emit(ctx, pos + p, m.wlen - p, pids, pn, 1)) goto out;
                    pos = len;
                    goto finished;
                }
            }
            /* room per piece: S minus what encoding a piece alone adds (SentencePiece's "▁") */
            size_t room = (size_t)S > extra ? (size_t)S - extra : 1;
            size_t hi = left > room ? m.ends[k + room - 1] : m.wlen - 1;
            if (hi > p + maxb) hi = char_floor(m.t, p + maxb, p);   /* bytes bound a piece too */
            if (!whole && hi + margin > m.wlen) break;   /* refill the window from p */
            /* a piece holds at least one character and, when the span ends in this window,
             * leaves at least one for the next piece */
            size_t e1 = p + 1;
            while (e1 < m.wlen && ((unsigned char)m.t[e1] & 0xC0) == 0x80) e1++;
            if (hi < e1) hi = e1;
            if (hi >= m.wlen) {
                if (e1 >= m.wlen) {
                    cl_fail("offset %zu: one character needs more than %d tokens", pos + p, S);
                    goto out;
                }
                hi = m.wlen - 1;
            }
            /* Where the piece should end.  When the span ends in this window: the rest in
             * equal parts, at a word start that leaves no more than parts-1 full pieces after
             * it (and at least a quarter piece before it), else one that allows one more
             * piece, else on a token boundary.  Inside a
             * long span: full pieces, at a word start if at least half full. */
            size_t ideal = hi, lo_w = p + 1, ideal2 = 0, lo_w2 = 0;
            if (whole) {
                size_t parts = (left + room - 1) / room;
                if (parts < 2) parts = 2;
                for (int alt = 0; alt < 2; alt++, parts++) {
                    size_t each = (left + parts - 1) / parts;
                    size_t need = left > (parts - 1) * room ? left - (parts - 1) * room : 0;
                    if (need < room / 4) need = room / 4;   /* no scraps like "，" alone */
                    size_t id = each ? m.ends[k + each - 1] : hi;
                    size_t lw = need ? m.ends[k + need - 1] : p + 1;
                    if (alt) ideal2 = id, lo_w2 = lw;
                    else ideal = id, lo_w = lw;
                }
            } else {
                size_t h = room / 2;
                lo_w = h ? m.ends[k + h - 1] : p + 1;
            }
            size_t cut;
            for (;;) {
                if (ideal > hi) ideal = hi;
                if (ideal2 > hi) ideal2 = hi;
                cut = whole && final ? tail_cut(&m, p, hi) : 0;
                if (!cut) cut = word_cut(&m, p, lo_w, hi, ideal);
                if (!cut && whole) cut = word_cut(&m, p, lo_w2, hi, ideal2);
                if (!cut) cut = space_cut(&m, p, hi, ideal);
                if (!cut) cut = token_cut(&m, p, k, hi, ideal);
                if (!cut) {
                    cl_fail("offset %zu: one character needs more than %d tokens", pos + p, S);
                    goto out;
                }
                free(pids);
                pids = NULL;
                if (tok->encode(tok->ctx, m.t + p, cut - p, &pids, &pn)) goto out;
                if (pn <= (size_t)S) break;
                /* too many: if encoding alone adds more tokens than assumed, plan again */
                size_t mapped = 0;
                for (size_t i = k; i < m.n && m.ends[i] <= cut; i++) mapped++;
                if (pn > mapped && pn - mapped > extra && pn - mapped <= (size_t)S / 4) {
                    extra = pn - mapped;
                    replan = 1;
                    break;
                }
                hi = cut - 1;
            }
            if (replan) {
                replan = 0;
                continue;
            }
            if (emit(ctx, pos + p, cut - p, pids, pn, 0)) goto out;
            p = cut;
            if (!final && rem - p <= window) break;
        }
        if (p == 0) window *= 2;   /* no progress: the map's tokens are longer than the window */
        pos += p;
    }
finished:
    rc = 0;
out:
    if (done) *done = pos;
    free(ids);
    free(pids);
    free(m.ends);
    return rc;
}
