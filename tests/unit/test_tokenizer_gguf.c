/* test_tokenizer_gguf.c — tokenizer -> GGUF (cl_tokenizer_to_gguf) -> tokenizer
 * (cl_tokenizer_from_gguf) must encode identically: the shared test-vector strings and random
 * strings, with and without special tokens and BOS; same vocab, token bytes, BOS/EOS, specials.
 * And cl_tokenizer_for_model on the shared models gives the tokenizer of their own files. */
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "model_file.h"
#include "tokenizer.h"
#include "util.h"

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static int same_encoding(const cl_tokenizer *a, const cl_tokenizer *b, const char *s, size_t n, int flags) {
    int32_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int ok = cl_tokenizer_encode(a, s, n, flags, &x, &nx) == 0 && cl_tokenizer_encode(b, s, n, flags, &y, &ny) == 0 &&
             nx == ny && !memcmp(x, y, nx * sizeof *x);
    free(x);
    free(y);
    return ok;
}

static void check(const char *name, cl_tokenizer *t, const char *inp_rel) {
    if (!t) { SKIP("%s: tokenizer missing", name); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s", t_tmp(name));
    strcat(path, ".gguf");
    cl_gguf_writer *w = cl_gguf_writer_new();
    int rc = cl_tokenizer_to_gguf(t, w);
    OK(rc == 0 && cl_gguf_writer_save(w, path) == 0, "%s: written to GGUF %s", name, rc ? cl_error() : "");
    cl_gguf_writer_free(w);
    cl_gguf *g = cl_gguf_open(path);
    cl_tokenizer *u = g ? cl_tokenizer_from_gguf(g) : NULL;
    if (!OK(u, "%s: read back from GGUF %s", name, u ? "" : cl_error())) { cl_gguf_close(g); return; }
    int same = cl_tokenizer_n_vocab(t) == cl_tokenizer_n_vocab(u) && cl_tokenizer_bos(t) == cl_tokenizer_bos(u) &&
               cl_tokenizer_eos(t) == cl_tokenizer_eos(u) && cl_tokenizer_add_bos(t) == cl_tokenizer_add_bos(u);
    for (int id = 0; same && id < cl_tokenizer_n_vocab(t); id++) {
        char a[512], b[512];
        size_t na = cl_tokenizer_token_bytes(t, id, a, sizeof a), nb = cl_tokenizer_token_bytes(u, id, b, sizeof b);
        same = na == nb && (na > sizeof a || !memcmp(a, b, na)) && !strcmp(cl_tokenizer_piece(t, id), cl_tokenizer_piece(u, id)) &&
               cl_tokenizer_is_special(t, id) == cl_tokenizer_is_special(u, id);
    }
    OK(same, "%s: same vocab, token bytes, specials, BOS/EOS after the GGUF round trip", name);
    /* the shared vector strings */
    const char *inp = t_shared(inp_rel);
    char *buf;
    size_t len;
    int cases = 0, pass = 0;
    if (inp && cl_read_file(inp, &buf, &len) == 0) {
        for (char *p = buf, *sep; (sep = strstr(p, "\n__ggml_vocab_test__\n")); p = sep + 21) {
            for (int f = 0; f < 4; f++) { cases++; pass += same_encoding(t, u, p, (size_t)(sep - p), f); }
        }
        free(buf);
    }
    /* random strings over a mix of vocab pieces, specials and raw bytes */
    char s[2048];
    for (int i = 0; i < 1500; i++) {
        size_t n = 0, parts = rnd() % 30;
        for (size_t k = 0; k < parts; k++) {
            if (rnd() % 5 == 0) { s[n++] = (char)rnd(); continue; }
            char piece[512];
            size_t m = cl_tokenizer_token_bytes(t, (int32_t)(rnd() % (uint32_t)cl_tokenizer_n_vocab(t)), piece, sizeof piece);
            if (m <= sizeof piece && n + m < sizeof s) { memcpy(s + n, piece, m); n += m; }
            if (rnd() % 3 == 0 && n < sizeof s) s[n++] = ' ';
        }
        cases++;
        pass += same_encoding(t, u, s, n, (int)(rnd() % 4));
    }
    OK(cases > 1500 && pass == cases, "%s: %d/%d encodings identical after the GGUF round trip", name, pass, cases);
    cl_tokenizer_free(u);
    cl_gguf_close(g);
}

static void check_for_model(const char *rel, const char *text) {
    const char *dir = t_shared(rel);
    if (!dir) { SKIP("%s missing", rel); return; }
    cl_model_file *mf = cl_model_file_open(dir);
    cl_tokenizer *t = mf ? cl_tokenizer_for_model(mf) : NULL;
    if (!OK(t, "%s: cl_tokenizer_for_model %s", rel, t ? "" : cl_error())) { cl_model_file_close(mf); return; }
    int32_t *ids = NULL;
    size_t n = 0;
    char *out = NULL;
    size_t olen = 0;
    int ok = cl_tokenizer_encode(t, text, strlen(text), CL_TOK_BOS, &ids, &n) == 0 && n > 1 &&
             ids[0] == cl_tokenizer_bos(t) && cl_tokenizer_n_vocab(t) == cl_model_file_config(mf)->n_vocab &&
             cl_tokenizer_decode_ex(t, ids, n, CL_TOK_SKIP_SPECIAL, &out, &olen) == 0 && olen == strlen(text) &&
             !memcmp(out, text, olen);
    OK(ok, "%s: BOS + \"%s\" (%zu ids) decodes back; vocab size matches the config", rel, text, n);
    free(ids);
    free(out);
    cl_tokenizer_free(t);
    cl_model_file_close(mf);
}

/* cl-model convert writes the tokenizer into the GGUF: the converted model's tokenizer must
 * encode as the HF directory's tokenizer.json does. */
static void check_convert(void) {
    const char *dir = t_shared("models/tinystories-656k"), *bin = getenv("CL_BIN");
    char cmd[8192], out[1024];
    snprintf(out, sizeof out, "%s", t_tmp("tok-converted.gguf"));
    snprintf(cmd, sizeof cmd, "%s/cl-model", bin ? bin : "bin");
    if (!dir || access(cmd, X_OK)) { SKIP("tinystories or %s missing", cmd); return; }
    snprintf(cmd, sizeof cmd, "%s/cl-model convert '%s' --out '%s'", bin ? bin : "bin", dir, out);
    if (!OK(system(cmd) == 0, "%s", cmd)) return;
    cl_model_file *mf = cl_model_file_open(out);
    cl_tokenizer *g = mf ? cl_tokenizer_for_model(mf) : NULL;
    char json[4096];
    snprintf(json, sizeof json, "%s/tokenizer.json", dir);
    cl_tokenizer *j = cl_tokenizer_from_json(json);
    int cases = 0, pass = 0;
    if (g && j) {
        char s[512];
        for (int i = 0; i < 500; i++) {
            size_t n = 0, parts = rnd() % 20;
            for (size_t k = 0; k < parts; k++) {
                char piece[256];
                size_t m = cl_tokenizer_token_bytes(j, (int32_t)(rnd() % 2048), piece, sizeof piece);
                if (m <= sizeof piece && n + m < sizeof s) { memcpy(s + n, piece, m); n += m; }
            }
            cases++;
            pass += same_encoding(g, j, s, n, (int)(rnd() % 4));
        }
    }
    OK(g && j && pass == cases, "converted GGUF's tokenizer encodes as tokenizer.json: %d/%d %s", pass, cases,
       g ? "" : cl_error());
    cl_tokenizer_free(g);
    cl_tokenizer_free(j);
    cl_model_file_close(mf);
}

int main(void) {
    const char *ts = t_shared("models/tinystories-656k/tokenizer.json");
    const char *gp = t_shared("tokenizers/gpt2/tokenizer.json");
    const char *sm = t_shared("tokenizers/smollm2-135m-instruct/tokenizer.json");
    const char *l2 = t_shared("tokenizers/llama2/tokenizer.bin");
    const char *s2 = t_shared("models/stories260k/tok512.bin");
    cl_tokenizer *t;
    check("tinystories-656k", t = ts ? cl_tokenizer_from_json(ts) : NULL, "models/tinystories-656k/tokenizer-test.inp");
    cl_tokenizer_free(t);
    check("gpt2", t = gp ? cl_tokenizer_from_json(gp) : NULL, "tokenizers/gpt2/tokenizer-test.inp");
    cl_tokenizer_free(t);
    check("smollm2", t = sm ? cl_tokenizer_from_json(sm) : NULL, "tokenizers/smollm2-135m-instruct/tokenizer-test.inp");
    cl_tokenizer_free(t);
    check("llama2", t = l2 ? cl_tokenizer_from_llama2c(l2, 32000) : NULL, "tokenizers/llama2/tokenizer-test.inp");
    cl_tokenizer_free(t);
    check("stories260k-tok512", t = s2 ? cl_tokenizer_from_llama2c(s2, 512) : NULL, "tokenizers/llama2/tokenizer-test.inp");
    cl_tokenizer_free(t);
    check_for_model("models/tinystories-656k", "Once upon a time, there was a little dog.");
    check_for_model("models/stories260k/stories260K.bin", "Once upon a time, there was a little dog.");
    check_convert();
    return t_done();
}
