/* tok_for_model.c — the tokenizer that comes with a model, whatever its layout. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model_file.h"
#include "tok_internal.h"
#include "util.h"

cl_tokenizer *cl_tokenizer_for_model(const cl_model_file *mf) {
    const cl_gguf *g = cl_model_file_gguf(mf);
    if (g) return cl_tokenizer_from_gguf(g);
    const char *p = cl_model_file_tokenizer_json(mf);
    if (p) return cl_tokenizer_from_json(p);
    p = cl_model_file_tokenizer_bin(mf);
    if (p) return cl_tokenizer_from_llama2c(p, cl_model_file_config(mf)->n_vocab);
    cl_fail("%s: the model has no tokenizer", cl_model_file_path(mf));
    return NULL;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int gguf_magic(const char *path) {
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(m, "GGUF", 4);
}

cl_tokenizer *cl_tokenizer_for_path(const char *path) {
    if (is_dir(path)) {
        size_t n = strlen(path) + 32;
        char *json = cl_malloc(n);
        snprintf(json, n, "%s/tokenizer.json", path);
        cl_tokenizer *t = NULL;
        int have = access(json, F_OK) == 0;
        if (have) t = cl_tokenizer_from_json(json);
        free(json);
        if (have) return t;
    } else if (gguf_magic(path)) {
        cl_gguf *g = cl_gguf_open(path);
        if (!g) return NULL;
        cl_tokenizer *t = cl_tokenizer_from_gguf(g);
        if (!t) cl_fail_prefix("%s", path);
        cl_gguf_close(g);
        return t;
    } else if (ends_with(path, ".json")) {
        return cl_tokenizer_from_json(path);
    }
    cl_model_file *mf = cl_model_file_open(path);
    if (!mf) return NULL;
    cl_tokenizer *t = cl_tokenizer_for_model(mf);
    cl_model_file_close(mf);
    return t;
}
