/* tok_pretok.c — pre-tokenization: regex splits run with PCRE2 (UTF + UCP, JIT), and the GPT-2
 * byte <-> unicode mapping.  PCRE2's UTF mode refuses invalid UTF-8, so each piece is cut into
 * valid runs, matched separately, and every invalid byte becomes a pre-token of its own. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "utf8.h"
#include "util.h"

/* GPT-2: printable bytes map to themselves, the others to U+0100 upwards in byte order. */
const uint16_t tok_byte_to_cp[256] = {
#define R(a) a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7
    256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271,
    272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287,
    288, 33, 34, 35, 36, 37, 38, 39, R(40), R(48), R(56), R(64), R(72), R(80), R(88), R(96),
    R(104), R(112), 120, 121, 122, 123, 124, 125, 126, 289,
    290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305,
    306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321,
    322, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 323, 174, 175,
    R(176), R(184), R(192), R(200), R(208), R(216), R(224), R(232), R(240), R(248)
#undef R
};

int tok_cp_to_byte(uint32_t cp) {
    static int16_t inv[324];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        int16_t tmp[324];
        for (int i = 0; i < 324; i++) tmp[i] = -1;
        for (int b = 0; b < 256; b++) tmp[tok_byte_to_cp[b]] = (int16_t)b;
        memcpy(inv, tmp, sizeof inv);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    return cp < 324 ? inv[cp] : -1;
}

const char *const tok_re_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const tok_re_llama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const tok_re_qwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

int tok_add_split(cl_tokenizer *t, const char *pattern, int literal, int behavior, int prefix_space) {
    if (t->n_split >= TOK_MAX_SPLIT) return cl_fail("too many pre-tokenizer steps");
    int err;
    PCRE2_SIZE erroff;
    uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &err, &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return cl_fail("pre-tokenizer regex at offset %zu: %s", (size_t)erroff, (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if JIT is absent */
    if (!t->split_src) t->split_src = cl_calloc(TOK_MAX_SPLIT, sizeof *t->split_src);
    t->split_src[t->n_split] = cl_strdup(pattern);
    t->split[t->n_split++] = (tok_split){re, behavior, prefix_space, 0, 0};
    return 0;
}

int tok_add_metaspace(cl_tokenizer *t, int prepend, int split) {
    if (split) {
        if (tok_add_split(t, "\xe2\x96\x81", 1, SPLIT_MERGED_NEXT, 0)) return -1;
    } else {
        if (t->n_split >= TOK_MAX_SPLIT) return cl_fail("too many pre-tokenizer steps");
        if (!t->split_src) t->split_src = cl_calloc(TOK_MAX_SPLIT, sizeof *t->split_src);
        t->split_src[t->n_split] = cl_strdup("");
        t->split[t->n_split++] = (tok_split){NULL, SPLIT_ISOLATED, 0, 0, 0};
    }
    t->split[t->n_split - 1].meta = 1;
    t->split[t->n_split - 1].meta_prepend = prepend;
    return 0;
}

/* llama.cpp's tokenizer.ggml.pre names for the byte-level pre-tokenizers we know. */
int tok_set_pre(cl_tokenizer *t, const char *name) {
    int rc;
    if (!name || !strcmp(name, "default") || !strcmp(name, "gpt2") || !strcmp(name, "gpt-2"))
        rc = tok_add_split(t, tok_re_gpt2, 0, SPLIT_ISOLATED, 0);
    else if (!strcmp(name, "smollm") || !strcmp(name, "starcoder") || !strcmp(name, "smollm2"))
        rc = tok_add_split(t, "\\p{N}", 0, SPLIT_ISOLATED, 0) || tok_add_split(t, tok_re_gpt2, 0, SPLIT_ISOLATED, 0);
    else if (!strcmp(name, "llama-bpe") || !strcmp(name, "llama3") || !strcmp(name, "smaug-bpe"))
        rc = tok_add_split(t, tok_re_llama3, 0, SPLIT_ISOLATED, 0);
    else if (!strcmp(name, "qwen2") || !strcmp(name, "deepseek-r1-qwen"))
        rc = tok_add_split(t, tok_re_qwen2, 0, SPLIT_ISOLATED, 0);
    else
        return cl_fail("unknown pre-tokenizer '%s' (known: default gpt2 smollm llama-bpe qwen2)", name);
    if (rc) return -1;
    free(t->pre_name);
    t->pre_name = cl_strdup(name ? name : "default");
    return 0;
}

void tok_buf_append(tok_buf *b, const void *p, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1) c *= 2;
        b->v = cl_realloc(b->v, c);
        b->cap = c;
    }
    if (n && p) memcpy(b->v + b->n, p, n);
    b->n += n;
}

void tok_spans_push(tok_spans *s, size_t off, size_t len) {
    if (len == 0) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = cl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (tok_span){off, len};
}

/* Split one valid-UTF-8 run [off, off+len) of buf by re, appending the pieces to out. */
static int split_run(const tok_split *sp, const char *buf, size_t off, size_t len, tok_spans *out,
                     pcre2_match_data *md) {
    PCRE2_SPTR subj = (PCRE2_SPTR)(buf + off);
    size_t pos = 0, last = 0;
    while (pos <= len) {
        int rc = pcre2_match(sp->re, subj, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)   /* JIT's stack is small: interpret instead */
            rc = pcre2_match(sp->re, subj, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return cl_fail("pre-tokenizer regex: %s", (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e == s) {   /* empty match: no split here; step one character */
            if (s >= len) break;
            int k = cl_utf8_lead_len((unsigned char)subj[s]);
            pos = s + (k ? (size_t)k : 1);
            continue;
        }
        switch (sp->behavior) {
        case SPLIT_ISOLATED:
            tok_spans_push(out, off + last, s - last);
            tok_spans_push(out, off + s, e - s);
            last = e;
            break;
        case SPLIT_REMOVED:
            tok_spans_push(out, off + last, s - last);
            last = e;
            break;
        case SPLIT_MERGED_PREV:   /* the match ends the piece before it */
            tok_spans_push(out, off + last, e - last);
            last = e;
            break;
        case SPLIT_MERGED_NEXT:   /* the match starts the next piece */
            tok_spans_push(out, off + last, s - last);
            last = s;
            break;
        default:                  /* CONTIGUOUS is handled by merging at the caller; isolate */
            tok_spans_push(out, off + last, s - last);
            tok_spans_push(out, off + s, e - s);
            last = e;
            break;
        }
        pos = e;
    }
    tok_spans_push(out, off + last, len - last);
    return 0;
}

int tok_pretokenize(const cl_tokenizer *t, tok_buf *buf, tok_spans *in, tok_spans *tmp, int first) {
    if (t->n_split == 0) return 0;
    pcre2_match_data *md = NULL;
    int rc = 0;
    for (int k = 0; k < t->n_split && rc == 0; k++) {
        const tok_split *sp = &t->split[k];
        if (!md) md = pcre2_match_data_create(4, NULL);
        tmp->n = 0;
        for (size_t i = 0; i < in->n && rc == 0; i++) {
            size_t off = in->v[i].off, len = in->v[i].len;
            if (sp->meta) {   /* Metaspace: rewrite the piece at the end of buf */
                size_t at = buf->n;
                tok_buf_append(buf, NULL, 3 * len + 3);   /* reserve: v may move */
                char *o = buf->v + at;
                size_t m = 0;
                for (size_t j = 0; j < len; j++) {
                    if (buf->v[off + j] == ' ') { memcpy(o + m, "\xe2\x96\x81", 3); m += 3; }
                    else o[m++] = buf->v[off + j];
                }
                int pre = sp->meta_prepend == 1 || (sp->meta_prepend == 2 && first && i == 0);
                if (pre && !(m >= 3 && !memcmp(o, "\xe2\x96\x81", 3))) {
                    memmove(o + 3, o, m);
                    memcpy(o, "\xe2\x96\x81", 3);
                    m += 3;
                }
                buf->n = at + m;
                off = at;
                len = m;
                if (!sp->re) { tok_spans_push(tmp, off, len); continue; }
            }
            if (sp->prefix_space && buf->v[off] != ' ') {   /* the piece gets a ' ' in front */
                size_t at = buf->n;
                tok_buf_append(buf, " ", 1);
                tok_buf_append(buf, NULL, len);          /* reserve first: v may move */
                memmove(buf->v + at + 1, buf->v + off, len);
                off = at;
                len++;
            }
            /* valid runs matched separately; each invalid byte is a piece of its own */
            size_t p = 0;
            while (p < len && rc == 0) {
                size_t v = cl_utf8_validate(buf->v + off + p, len - p);
                if (v > 0) rc = split_run(sp, buf->v, off + p, v, tmp, md);
                p += v;
                if (p < len) { tok_spans_push(tmp, off + p, 1); p++; }
            }
        }
        tok_spans sw = *in; *in = *tmp; *tmp = sw;
    }
    pcre2_match_data_free(md);
    return rc;
}
