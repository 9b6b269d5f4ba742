/* test_tokenizer_roundtrip.c — decode(encode(x)) == x, and token_bytes concatenation == decode.
 *   byte-level BPE (gpt2, smollm2): any bytes, invalid UTF-8 included, exactly;
 *   SentencePiece with byte fallback (llama2): any bytes without U+2581 (▁ is how the model writes
 *     a space, so a literal ▁ comes back as ' '), exactly: the decoder's Strip removes exactly the
 *     ▁ that the Prepend normalizer added; with BOS, decoding with CL_TOK_SKIP_SPECIAL;
 *   tinystories (no byte tokens in its vocab): text over its single-character tokens, exactly;
 *     other characters become <unk> (id 0, runs fused). */
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "tokenizer.h"
#include "util.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const char *const PIECES[] = {
    " ", "  ", "\t", "\n", "\r\n", "a", "The", " cat", "'s", "'LL", "123", "4", "é", "ß", "\xe4\xb8\xad\xe6\x96\x87",
    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
    "e\xcc\x81", "\xc2\xa0", "\xe3\x80\x80", "<|endoftext|>", "<s>", "<|im_start|>", "!!", "...", "\xff", "\xc3",
    "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\x00", "\x7f", "\xd0\xbf\xd1\x80\xd0\xb8",
};

/* a random string: pieces above mixed with random bytes */
static size_t random_text(char *buf, size_t cap) {
    size_t n = 0, parts = rnd() % 24;
    for (size_t i = 0; i < parts; i++) {
        if (rnd() % 4 == 0) {
            if (n < cap) buf[n++] = (char)(rnd() & 0xFF);
        } else {
            const char *p = PIECES[rnd() % (sizeof PIECES / sizeof *PIECES)];
            size_t l = strlen(p);
            if (p[0] == 0) l = 1;
            if (n + l <= cap) { memcpy(buf + n, p, l); n += l; }
        }
    }
    return n;
}

static int has_meta(const char *s, size_t n) {
    for (size_t i = 0; i + 3 <= n; i++) if (!memcmp(s + i, "\xe2\x96\x81", 3)) return 1;
    return 0;
}

/* encode, decode (with flags), compare with want; also token_bytes concatenation == raw decode */
static int roundtrip_to(const cl_tokenizer *t, const char *x, size_t n, const char *want, size_t wn,
                        int eflags, int dflags, int strip) {
    int32_t *ids = NULL;
    size_t nids = 0;
    char *out = NULL;
    size_t olen = 0;
    if (cl_tokenizer_encode(t, x, n, eflags, &ids, &nids)) return 0;
    int ok = cl_tokenizer_decode_ex(t, ids, nids, dflags, &out, &olen) == 0 && olen == wn && !memcmp(out, want, wn);
    /* streaming: the bytes of each token, concatenated, are the decode before the leading strip */
    char *cat = cl_malloc(olen + 64 + 16 * nids);
    size_t m = 0;
    for (size_t i = 0; i < nids; i++) {
        if ((dflags & CL_TOK_SKIP_SPECIAL) && cl_tokenizer_is_special(t, ids[i])) continue;
        m += cl_tokenizer_token_bytes(t, ids[i], cat + m, olen + 64 + 16 * nids - m);
    }
    size_t skip = strip && m > 0 && cat[0] == ' ';
    ok = ok && m - skip == olen && !memcmp(cat + skip, out, olen);
    free(cat);
    free(out);
    free(ids);
    return ok;
}

static int roundtrip(const cl_tokenizer *t, const char *x, size_t n, int eflags, int dflags, int strip) {
    return roundtrip_to(t, x, n, x, n, eflags, dflags, strip);
}

int main(void) {
    const char *gp = t_shared("tokenizers/gpt2/tokenizer.json");
    const char *sm = t_shared("tokenizers/smollm2-135m-instruct/tokenizer.json");
    const char *l2 = t_shared("tokenizers/llama2/tokenizer.bin");
    const char *ts = t_shared("models/tinystories-656k/tokenizer.json");
    char buf[1024];
    const char *names[2] = {"gpt2", "smollm2"};
    const char *paths[2] = {gp, sm};
    for (int k = 0; k < 2; k++) {
        cl_tokenizer *t = paths[k] ? cl_tokenizer_from_json(paths[k]) : NULL;
        if (!t) { SKIP("%s tokenizer.json missing", names[k]); continue; }
        /* bytes without a token of their own (SmolLM2 lacks 21, e.g. 0xC0) are dropped, as HF
         * drops characters that have no token and no unk to go to */
        char missing[256] = {0}, want[1024];
        int nmissing = 0;
        for (int b = 0; b < 256; b++) {
            char c = (char)b;
            int32_t *ids;
            size_t nids;
            if (cl_tokenizer_encode(t, &c, 1, 0, &ids, &nids) == 0 && nids == 0) missing[b] = 1, nmissing++;
            free(ids);
        }
        int pass = 0, total = 3000;
        for (int i = 0; i < total; i++) {
            size_t n = random_text(buf, sizeof buf), wn = 0;
            for (size_t j = 0; j < n; j++) if (!missing[(unsigned char)buf[j]]) want[wn++] = buf[j];
            pass += roundtrip_to(t, buf, n, want, wn, i & 1 ? CL_TOK_SPECIAL : 0, 0, 0);
        }
        OK(pass == total, "%s: %d/%d random byte strings (invalid UTF-8, emoji) round-trip exactly "
           "(%d byte values without a token dropped)", names[k], pass, total, nmissing);
        size_t wn = 0;
        for (int b = 0; b < 256; b++) {
            buf[b] = (char)b;
            if (!missing[b]) want[wn++] = (char)b;
        }
        OK(roundtrip_to(t, buf, 256, want, wn, 0, 0, 0), "%s: all 256 byte values round-trip", names[k]);
        cl_tokenizer_free(t);
    }
    cl_tokenizer *t = l2 ? cl_tokenizer_from_llama2c(l2, 32000) : NULL;
    if (t) {
        int pass = 0, total = 3000, tried = 0;
        for (int i = 0; i < total; i++) {
            size_t n = random_text(buf, sizeof buf);
            if (has_meta(buf, n)) continue;
            tried++;
            pass += roundtrip(t, buf, n, 0, 0, 1);
            pass += roundtrip(t, buf, n, CL_TOK_BOS, CL_TOK_SKIP_SPECIAL, 1);
        }
        OK(pass == 2 * tried, "llama2: %d/%d random byte strings round-trip (with and without BOS)", pass, 2 * tried);
        int32_t *ids;
        size_t nids;
        OK(cl_tokenizer_encode(t, "\xff", 1, 0, &ids, &nids) == 0 && nids == 2 && ids[0] == 29871 &&
           ids[1] == 3 + 0xFF, "llama2: an invalid byte becomes ▁ + its <0xFF> byte token");
        free(ids);
        cl_tokenizer_free(t);
    } else {
        SKIP("llama2 tokenizer.bin missing");
    }
    t = ts ? cl_tokenizer_from_json(ts) : NULL;
    if (t) {
        /* alphabet: every single-character token that is not special */
        char alpha[256];
        int na = 0;
        for (int id = 0; id < cl_tokenizer_n_vocab(t) && na < 256; id++) {
            const char *p = cl_tokenizer_piece(t, id);
            if (p && strlen(p) == 1 && !cl_tokenizer_is_special(t, id)) alpha[na++] = p[0];
        }
        alpha[na++] = ' ';
        int pass = 0, total = 3000;
        for (int i = 0; i < total; i++) {
            size_t n = rnd() % 200;
            for (size_t j = 0; j < n; j++) buf[j] = alpha[rnd() % (unsigned)na];
            pass += roundtrip(t, buf, n, 0, 0, 1);
            pass += roundtrip(t, buf, n, CL_TOK_BOS, CL_TOK_SKIP_SPECIAL, 1);
        }
        OK(pass == 2 * total, "tinystories: %d/%d strings over its %d characters round-trip", pass, 2 * total, na);
        int32_t *ids;
        size_t nids;
        OK(cl_tokenizer_encode(t, "a\xe4\xb8\xad\xe6\x96\x87\xff", 9, 0, &ids, &nids) == 0 && nids == 2 &&
           ids[1] == 0, "tinystories: unknown characters and bytes fuse into one <unk>");
        free(ids);
        cl_tokenizer_free(t);
    } else {
        SKIP("tinystories tokenizer.json missing");
    }
    return t_done();
}
