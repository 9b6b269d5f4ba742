/* fuzz_tokenizer.c — libFuzzer target: encoding arbitrary bytes must never crash and must
 * round-trip.  TinyStories (▁ metaspace, no byte tokens): decode(encode(x)) == x whenever no
 * <unk> came out and x holds no literal ▁ (U+2581, which decodes as ' ').  GPT-2 (byte-level):
 * decode(encode(x)) == x always.  The first byte picks the flags (special tokens, BOS).
 * Tokenizers come from $CL_SHARED (default ../shared). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer.h"
#include "util.h"

static cl_tokenizer *load(const char *rel) {
    const char *root = getenv("CL_SHARED");
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root ? root : "../shared", rel);
    cl_tokenizer *t = cl_tokenizer_from_json(p);
    if (!t) { fprintf(stderr, "fuzz_tokenizer: %s\n", cl_error()); abort(); }
    return t;
}

static void check(const cl_tokenizer *t, const uint8_t *x, size_t n, int flags, int exact) {
    int32_t *ids;
    size_t nids;
    if (cl_tokenizer_encode(t, (const char *)x, n, flags, &ids, &nids)) abort();
    int lossy = 0;
    for (size_t i = 0; i < nids; i++) {
        if (ids[i] < 0 || ids[i] >= cl_tokenizer_n_vocab(t)) abort();
        if (ids[i] == 0 && !exact) lossy = 1;   /* <unk> */
    }
    for (size_t i = 0; i + 3 <= n && !exact; i++) if (!memcmp(x + i, "\xe2\x96\x81", 3)) lossy = 1;
    char *out;
    size_t olen;
    if (cl_tokenizer_decode_ex(t, ids, nids, CL_TOK_SKIP_SPECIAL, &out, &olen)) abort();
    if (!lossy && !(flags & CL_TOK_SPECIAL) && (olen != n || memcmp(out, x, n))) abort();
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cl_tokenizer *ts, *gp;
    if (!ts) ts = load("models/tinystories-656k/tokenizer.json");
    if (!gp) gp = load("tokenizers/gpt2/tokenizer.json");
    if (size == 0) return 0;
    int flags = (data[0] & 1 ? CL_TOK_SPECIAL : 0) | (data[0] & 2 ? CL_TOK_BOS : 0);
    check(ts, data + 1, size - 1, flags, 0);
    check(gp, data + 1, size - 1, flags, 1);
    return 0;
}
