/* tokenizer.c — vocabulary, added tokens, normalizers, the encode pipeline and decoding.
 * See tok_internal.h for the pipeline; tok_bpe.c has the models, tok_pretok.c the regex splits,
 * tok_load_*.c the loaders. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "utf8.h"
#include "util.h"

/* ---------------- vocab ---------------- */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

cl_tokenizer *tok_new(int n_vocab) {
    cl_tokenizer *t = cl_calloc(1, sizeof *t);
    t->n_vocab = n_vocab;
    t->piece = cl_calloc((size_t)n_vocab, sizeof *t->piece);
    t->piece_len = cl_calloc((size_t)n_vocab, sizeof *t->piece_len);
    t->bytes = cl_calloc((size_t)n_vocab, sizeof *t->bytes);
    t->bytes_len = cl_calloc((size_t)n_vocab, sizeof *t->bytes_len);
    t->attr = cl_calloc((size_t)n_vocab, 1);
    t->unk_id = t->bos_id = t->eos_id = -1;
    for (int i = 0; i < 256; i++) t->byte_token[i] = -1;
    return t;
}

int tok_set_piece(cl_tokenizer *t, int32_t id, const char *s, size_t len) {
    if (id < 0 || id >= t->n_vocab) return cl_fail("token id %d out of range 0..%d", id, t->n_vocab - 1);
    if (len > UINT32_MAX / 2) return cl_fail("token %d: piece too long", id);
    free(t->piece[id]);
    t->piece[id] = cl_malloc(len + 1);
    memcpy(t->piece[id], s, len);
    t->piece[id][len] = 0;
    t->piece_len[id] = (uint32_t)len;
    return 0;
}

int32_t tok_lookup(const cl_tokenizer *t, const char *s, size_t len) {
    if (!t->vocab.slot) return -1;
    uint32_t i = hash_bytes(s, len) & t->vocab.mask;
    for (;;) {
        int32_t id = t->vocab.slot[i];
        if (id < 0) return -1;
        if (t->piece_len[id] == len && memcmp(t->piece[id], s, len) == 0) return id;
        i = (i + 1) & t->vocab.mask;
    }
}

void tok_build_vocab(cl_tokenizer *t) {
    uint32_t size = 16;
    while (size < (uint32_t)t->n_vocab * 2u) size <<= 1;
    free(t->vocab.slot);
    t->vocab.slot = cl_malloc(size * sizeof(int32_t));
    for (uint32_t i = 0; i < size; i++) t->vocab.slot[i] = -1;
    t->vocab.mask = size - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->piece[id]) continue;
        /* the first id of a duplicated piece wins (as in HF: vocab maps a string to one id) */
        if (tok_lookup(t, t->piece[id], t->piece_len[id]) >= 0) continue;
        uint32_t i = hash_bytes(t->piece[id], t->piece_len[id]) & t->vocab.mask;
        while (t->vocab.slot[i] >= 0) i = (i + 1) & t->vocab.mask;
        t->vocab.slot[i] = id;
    }
}

/* ---------------- normalizers ---------------- */

int tok_add_norm(cl_tokenizer *t, tok_norm_kind kind, const char *a, size_t alen,
                 const char *b, size_t blen) {
    if (t->n_norm >= TOK_MAX_NORM) return cl_fail("too many normalizers");
    if (kind == NORM_REPLACE && alen == 0) return cl_fail("Replace normalizer with an empty pattern");
    tok_norm *n = &t->norm[t->n_norm++];
    n->kind = kind;
    n->a = cl_strndup(a ? a : "", alen);
    n->alen = alen;
    n->b = cl_strndup(b ? b : "", blen);
    n->blen = blen;
    return 0;
}

/* Normalizes s[0..n) into out (replacing its contents). */
static void normalize(const cl_tokenizer *t, const char *s, size_t n, tok_buf *out, tok_buf *tmp) {
    out->n = 0;
    tok_buf_append(out, s, n);
    for (int k = 0; k < t->n_norm; k++) {
        const tok_norm *nm = &t->norm[k];
        if (nm->kind == NORM_PREPEND) {
            if (out->n == 0) continue;
            tmp->n = 0;
            tok_buf_append(tmp, nm->a, nm->alen);
            tok_buf_append(tmp, out->v, out->n);
        } else if (nm->kind == NORM_REPLACE) {
            if (out->n < nm->alen) continue;
            tmp->n = 0;
            size_t i = 0, last = 0;
            while (i + nm->alen <= out->n) {
                const char *p = memchr(out->v + i, nm->a[0], out->n - i - nm->alen + 1);
                if (!p) break;
                i = (size_t)(p - out->v);
                if (memcmp(p, nm->a, nm->alen) == 0) {
                    tok_buf_append(tmp, out->v + last, i - last);
                    tok_buf_append(tmp, nm->b, nm->blen);
                    i += nm->alen;
                    last = i;
                } else {
                    i++;
                }
            }
            if (last == 0) continue;
            tok_buf_append(tmp, out->v + last, out->n - last);
        } else {
            tmp->n = 0;
            if (tok_unorm(nm->kind, out->v, out->n, tmp)) {   /* ICU failure: keep the text */
                tmp->n = 0;
                tok_buf_append(tmp, out->v, out->n);
            }
        }
        tok_buf sw = *out; *out = *tmp; *tmp = sw;
    }
}

/* ---------------- added tokens ---------------- */

int tok_add_added(cl_tokenizer *t, int32_t id, const char *content, size_t len, int special,
                  int normalized, int lstrip, int rstrip, int single_word) {
    if (id < 0 || id >= t->n_vocab) return cl_fail("added token id %d out of range", id);
    if (len == 0) return cl_fail("added token %d is empty", id);
    t->added = cl_realloc(t->added, (size_t)(t->n_added + 1) * sizeof *t->added);
    tok_added *a = &t->added[t->n_added++];
    memset(a, 0, sizeof *a);
    a->id = id;
    a->raw = cl_strndup(content, len);
    a->raw_len = len;
    a->special = (uint8_t)!!special;
    a->normalized = (uint8_t)!!normalized;
    a->lstrip = (uint8_t)!!lstrip;
    a->rstrip = (uint8_t)!!rstrip;
    a->single_word = (uint8_t)!!single_word;
    t->attr[id] |= TOK_ATTR_ADDED | (special ? TOK_ATTR_SPECIAL : 0);
    if (!t->piece[id]) tok_set_piece(t, id, content, len);
    return 0;
}

/* Unicode White_Space (Rust's char::is_whitespace) */
static int is_ws(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}
static uint32_t cp_before(const char *s, size_t i, size_t *start) {
    size_t j = i;
    while (j > 0 && ((unsigned char)s[j - 1] & 0xC0) == 0x80 && i - j < 3) j--;
    if (j > 0) j--;
    uint32_t cp;
    int k = cl_utf8_decode((const unsigned char *)s + j, i - j, &cp);
    if ((size_t)k != i - j) { *start = i - 1; return 0xFFFD; }
    *start = j;
    return cp;
}
static uint32_t cp_at(const char *s, size_t i, size_t n, size_t *len) {
    uint32_t cp;
    int k = cl_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    if (!k) { *len = 1; return 0xFFFD; }
    *len = (size_t)k;
    return cp;
}

typedef struct { size_t off, len; int32_t id; } seg;
typedef struct { seg *v; size_t n, cap; } segs;
static void segs_push(segs *s, size_t off, size_t len, int32_t id) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = cl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (seg){off, len, id};
}

/* Cuts added tokens (of the given pass: normalized or not) out of s[0..n), leftmost-longest,
 * honouring lstrip/rstrip/single_word as HF's AddedVocabulary::find_matches does. */
static void split_added(const cl_tokenizer *t, int norm_pass, int flags, const char *s, size_t n,
                        segs *out) {
    out->n = 0;
    size_t start_off = 0, p = 0;
    int want = 1 << (2 * norm_pass);
    if (flags & CL_TOK_SPECIAL) want |= 2 << (2 * norm_pass);
    while (p < n) {
        const tok_added *best = NULL;
        for (; p < n; p++) {
            if (!(t->added_first[(unsigned char)s[p]] & want)) continue;
            for (int k = 0; k < t->n_added; k++) {
                const tok_added *a = &t->added[k];
                if (a->normalized != norm_pass || (a->special && !(flags & CL_TOK_SPECIAL))) continue;
                if (a->pat_len > n - p || a->pat[0] != s[p]) continue;
                if (best && best->pat_len >= a->pat_len) continue;
                if (memcmp(s + p, a->pat, a->pat_len) == 0) best = a;
            }
            if (best) break;
        }
        if (!best) break;
        size_t mstart = p, mstop = p + best->pat_len;
        p = mstop;
        if (best->single_word) {
            size_t q, l;
            int ok_left = mstart == 0 || !tok_is_word_char(cp_before(s, mstart, &q));
            int ok_right = mstop == n || !tok_is_word_char(cp_at(s, mstop, n, &l));
            if (!ok_left || !ok_right) continue;
        }
        if (best->lstrip) {
            size_t j = mstart, q;
            while (j > start_off && is_ws(cp_before(s, j, &q))) j = q;
            mstart = j;
        }
        if (best->rstrip) {
            size_t l;
            while (mstop < n && is_ws(cp_at(s, mstop, n, &l))) mstop += l;
            p = mstop;
        }
        if (start_off < mstart) segs_push(out, start_off, mstart - start_off, -1);
        segs_push(out, mstart, mstop - mstart, best->id);
        start_off = mstop;
    }
    if (start_off < n) segs_push(out, start_off, n - start_off, -1);
}

/* ---------------- finishing a loaded tokenizer ---------------- */

int tok_set_spm_defaults(cl_tokenizer *t, int add_space_prefix) {
    static const char meta[] = "\xe2\x96\x81";   /* U+2581 ▁ */
    if (add_space_prefix && tok_add_norm(t, NORM_PREPEND, meta, 3, NULL, 0)) return -1;
    if (tok_add_norm(t, NORM_REPLACE, " ", 1, meta, 3)) return -1;
    t->strip_leading_space = add_space_prefix;
    t->dec = TOK_DEC_SPM;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* <0xNN> -> NN, else -1 */
static int byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

static void make_token_bytes(cl_tokenizer *t, int32_t id) {
    const char *p = t->piece[id];
    size_t n = t->piece_len[id];
    char *out = cl_malloc(n + 1);
    size_t m = 0;
    if (!p) {
        n = 0;
    } else if (t->attr[id] & TOK_ATTR_ADDED) {
        memcpy(out, p, n), m = n;
    } else if (t->dec == TOK_DEC_BYTELEVEL) {
        size_t i = 0;
        while (i < n) {
            uint32_t cp;
            int k = cl_utf8_decode((const unsigned char *)p + i, n - i, &cp);
            int b = k ? tok_cp_to_byte(cp) : -1;
            if (b < 0) { memcpy(out, p, n); m = n; break; }   /* not byte-mapped: as written */
            out[m++] = (char)b;
            i += (size_t)k;
        }
    } else {
        int b = (t->attr[id] & TOK_ATTR_BYTE) ? byte_piece(p, n) : -1;
        if (b >= 0) {
            out[m++] = (char)b;
        } else {
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(p + i, "\xe2\x96\x81", 3) == 0) { out[m++] = ' '; i += 3; }
                else out[m++] = p[i++];
            }
        }
    }
    out[m] = 0;
    t->bytes[id] = out;
    t->bytes_len[id] = (uint32_t)m;
}

int tok_finish(cl_tokenizer *t, const char *src) {
    tok_build_vocab(t);
    if (t->byte_level) {
        for (int b = 0; b < 256; b++) {
            char u[4];
            int k = cl_utf8_encode(tok_byte_to_cp[b], u);
            t->byte_token[b] = tok_lookup(t, u, (size_t)k);
        }
    } else {
        for (int b = 0; b < 256; b++) {
            char u[8];
            snprintf(u, sizeof u, "<0x%02X>", b);
            int32_t id = tok_lookup(t, u, 6);
            t->byte_token[b] = id;
            if (id >= 0) t->attr[id] |= TOK_ATTR_BYTE;
        }
    }
    for (int32_t id = 0; id < t->n_vocab; id++) make_token_bytes(t, id);
    if (!t->byte_level) tok_build_bigrams(t);
    /* added-token patterns: normalized ones are matched in normalized text, so normalize them */
    tok_buf nb = {0}, tmp = {0};
    for (int k = 0; k < t->n_added; k++) {
        tok_added *a = &t->added[k];
        if (a->normalized) {
            normalize(t, a->raw, a->raw_len, &nb, &tmp);
            a->pat = cl_strndup(nb.v ? nb.v : "", nb.n);
            a->pat_len = nb.n;
            t->has_norm_added = 1;
        } else {
            a->pat = cl_strndup(a->raw, a->raw_len);
            a->pat_len = a->raw_len;
            t->has_raw_added = 1;
        }
        if (a->pat_len == 0) return cl_fail("%s: added token %d normalizes to nothing", src, a->id);
        t->added_first[(unsigned char)a->pat[0]] |= (uint8_t)(1 << (2 * a->normalized + a->special));
    }
    free(nb.v);
    free(tmp.v);
    if (t->bos_id >= t->n_vocab || t->eos_id >= t->n_vocab || t->unk_id >= t->n_vocab)
        return cl_fail("%s: bos/eos/unk id out of range", src);
    return 0;
}

void cl_tokenizer_free(cl_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_vocab; i++) { free(t->piece[i]); free(t->bytes[i]); }
    free(t->piece); free(t->piece_len); free(t->bytes); free(t->bytes_len);
    free(t->attr); free(t->score); free(t->vocab.slot);
    tok_pairmap_free(&t->merges);
    tok_pairmap_free(&t->bigrams);
    for (int i = 0; i < t->n_norm; i++) { free(t->norm[i].a); free(t->norm[i].b); }
    for (int i = 0; i < t->n_split; i++) {
        pcre2_code_free(t->split[i].re);
        if (t->split_src) free(t->split_src[i]);
    }
    free(t->split_src);
    free(t->pre_name);
    for (int i = 0; i < t->n_added; i++) { free(t->added[i].raw); free(t->added[i].pat); }
    free(t->added);
    free(t);
}

/* ---------------- encode ---------------- */

int cl_tokenizer_encode(const cl_tokenizer *t, const char *text, size_t len, int flags,
                        int32_t **ids, size_t *n) {
    tok_ids out = {0};
    tok_buf nbuf = {0}, tmp = {0};
    tok_spans sp = {0}, sp2 = {0};
    segs s1 = {0}, s2 = {0};
    tok_scratch *sc = tok_scratch_new();
    int rc = 0;
    if (!text && len) return cl_fail("cl_tokenizer_encode: NULL text");
    if ((flags & CL_TOK_BOS) && t->bos_id >= 0) tok_ids_push(&out, t->bos_id);
    split_added(t, 0, flags, text ? text : "", len, &s1);
    for (size_t i = 0; i < s1.n && rc == 0; i++) {
        if (s1.v[i].id >= 0) { tok_ids_push(&out, s1.v[i].id); continue; }
        normalize(t, text + s1.v[i].off, s1.v[i].len, &nbuf, &tmp);
        split_added(t, 1, flags, nbuf.v, nbuf.n, &s2);
        for (size_t j = 0; j < s2.n && rc == 0; j++) {
            if (s2.v[j].id >= 0) { tok_ids_push(&out, s2.v[j].id); continue; }
            sp.n = 0;
            tok_spans_push(&sp, s2.v[j].off, s2.v[j].len);
            if (tok_pretokenize(t, &nbuf, &sp, &sp2, s1.v[i].off == 0 && s2.v[j].off == 0)) { rc = -1; break; }
            for (size_t k = 0; k < sp.n; k++)
                tok_model_encode(t, sc, nbuf.v + sp.v[k].off, sp.v[k].len, &out);
        }
    }
    if (rc == 0 && (flags & CL_TOK_EOS) && t->eos_id >= 0) tok_ids_push(&out, t->eos_id);
    free(nbuf.v); free(tmp.v); free(sp.v); free(sp2.v); free(s1.v); free(s2.v);
    tok_scratch_free(sc);
    if (rc) { free(out.v); return -1; }
    if (!out.v) out.v = cl_malloc(sizeof(int32_t));
    *ids = out.v;
    *n = out.n;
    return 0;
}

/* ---------------- decode ---------------- */

size_t cl_tokenizer_token_bytes(const cl_tokenizer *t, int32_t id, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return 0;
    size_t n = t->bytes_len[id];
    if (buf && n <= cap) memcpy(buf, t->bytes[id], n);
    return n;
}

int cl_tokenizer_decode_ex(const cl_tokenizer *t, const int32_t *ids, size_t n, int flags,
                           char **out, size_t *len) {
    tok_buf b = {0};
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab) {
            free(b.v);
            return cl_fail("decode: token id %d at position %zu out of range 0..%d", id, i, t->n_vocab - 1);
        }
        if ((flags & CL_TOK_SKIP_SPECIAL) && (t->attr[id] & TOK_ATTR_SPECIAL)) continue;
        if (t->dec_meta_first && first && !(t->attr[id] & (TOK_ATTR_BYTE | TOK_ATTR_ADDED))) {
            for (uint32_t k = 0; k < t->bytes_len[id]; k++)   /* spaces here all came from ▁ */
                if (t->bytes[id][k] != ' ') tok_buf_append(&b, t->bytes[id] + k, 1);
        } else {
            tok_buf_append(&b, t->bytes[id], t->bytes_len[id]);
        }
        first = 0;
    }
    size_t skip = (t->strip_leading_space && b.n > 0 && b.v[0] == ' ') ? 1 : 0;
    char *s = cl_malloc(b.n - skip + 1);
    if (b.n > skip) memcpy(s, b.v + skip, b.n - skip);
    s[b.n - skip] = 0;
    free(b.v);
    *out = s;
    if (len) *len = b.n - skip;
    return 0;
}

int cl_tokenizer_decode(const cl_tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len) {
    return cl_tokenizer_decode_ex(t, ids, n, 0, out, len);
}

/* ---------------- accessors ---------------- */

int cl_tokenizer_n_vocab(const cl_tokenizer *t) { return t->n_vocab; }
int cl_tokenizer_bos(const cl_tokenizer *t) { return t->bos_id; }
int cl_tokenizer_eos(const cl_tokenizer *t) { return t->eos_id; }
int cl_tokenizer_add_bos(const cl_tokenizer *t) { return t->add_bos; }
const char *cl_tokenizer_piece(const cl_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab ? t->piece[id] : NULL;
}
int32_t cl_tokenizer_find(const cl_tokenizer *t, const char *piece) {
    return tok_lookup(t, piece, strlen(piece));
}
int cl_tokenizer_is_special(const cl_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab && (t->attr[id] & TOK_ATTR_SPECIAL);
}
