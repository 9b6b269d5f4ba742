/* test_tokenizer_bad.c — malformed tokenizer files fail cleanly (NULL + a message naming the
 * file), never crash: truncated tokenizer.model / tokenizer.bin / tokenizer.json at many lengths,
 * unsupported pipelines, and bad ids handed to decode. */
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "tokenizer.h"
#include "util.h"

typedef cl_tokenizer *(*loader)(const char *);
static cl_tokenizer *load_bin(const char *p) { return cl_tokenizer_from_llama2c(p, 32000); }

static void truncations(const char *name, const char *rel, loader load) {
    const char *src = t_shared(rel);
    char *buf;
    size_t len;
    if (!src || cl_read_file(src, &buf, &len)) { SKIP("%s missing", rel); return; }
    const char *tmp = t_tmp(name);
    int clean = 0, total = 0;
    for (int k = 0; k < 40; k++) {
        size_t cut = (size_t)((double)len * k / 40.0) + (size_t)k * 7 % 13;
        if (cut >= len) cut = len - 1;
        FILE *f = fopen(tmp, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        cl_tokenizer *t = load(tmp);
        total++;
        clean += t == NULL && strstr(cl_error(), name) != NULL;
        cl_tokenizer_free(t);
    }
    OK(clean == total, "%s: %d/%d truncated copies refused with a message naming the file", rel, clean, total);
    free(buf);
}

int main(void) {
    truncations("tokenizer.model", "tokenizers/llama2/tokenizer.model", cl_tokenizer_from_spm);
    truncations("tokenizer.bin", "tokenizers/llama2/tokenizer.bin", load_bin);
    truncations("tokenizer.json", "models/tinystories-656k/tokenizer.json", cl_tokenizer_from_json);

    const char *p = t_tmp("unigram.json");
    FILE *f = fopen(p, "w");
    fputs("{\"model\": {\"type\": \"Unigram\", \"vocab\": {\"a\": 0}}}", f);
    fclose(f);
    cl_tokenizer *t = cl_tokenizer_from_json(p);
    OK(!t && strstr(cl_error(), "Unigram"), "unsupported model type is refused: %s", cl_error());
    f = fopen(p, "w");
    fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}", f);
    fclose(f);
    t = cl_tokenizer_from_json(p);
    OK(!t && strstr(cl_error(), "merge 0"), "a merge of unknown tokens is refused: %s", cl_error());
    f = fopen(p, "w");
    fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"normalizer\": {\"type\": \"Lowercase\"}}", f);
    fclose(f);
    t = cl_tokenizer_from_json(p);
    OK(!t && strstr(cl_error(), "Lowercase"), "an unsupported normalizer is refused: %s", cl_error());

    const char *ts = t_shared("models/tinystories-656k/tokenizer.json");
    t = ts ? cl_tokenizer_from_json(ts) : NULL;
    if (t) {
        int32_t ids[3] = {5, 99999, 7};
        char *out = NULL;
        size_t n;
        OK(cl_tokenizer_decode(t, ids, 3, &out, &n) == -1 && !out && strstr(cl_error(), "99999"),
           "decode refuses an id out of range: %s", cl_error());
        OK(cl_tokenizer_token_bytes(t, -1, NULL, 0) == 0 && cl_tokenizer_piece(t, 4096) == NULL &&
           cl_tokenizer_find(t, "no such piece") == -1, "accessors reject bad ids and pieces");
        int32_t *e;
        OK(cl_tokenizer_encode(t, "", 0, 0, &e, &n) == 0 && n == 0, "empty text encodes to no ids");
        free(e);
        OK(cl_tokenizer_encode(t, "", 0, CL_TOK_BOS | CL_TOK_EOS, &e, &n) == 0 && n == 2 && e[0] == 1 && e[1] == 2,
           "empty text with BOS and EOS gives just those");
        free(e);
        cl_tokenizer_free(t);
    }
    return t_done();
}
