/* test_greedy_reference.c — greedy generation from BOS reproduces independent references:
 *  - tinystories-656k (HF safetensors): the 101 ids of greedy-reference.ids.txt (numpy fp32
 *    reference), token for token, both with the KV cache and by full re-prefill;
 *  - stories260k (llama2.c .bin): the text llama2.c's run.c printed at temperature 0 for 256
 *    steps (greedy-reference.txt), decoded here with run.c's own rules from tok512.bin. */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "model_file.h"
#include "ops.h"
#include "t.h"
#include "util.h"

/* Greedy ids from BOS: out[0] = bos, then up to n-1 new tokens (stops after stop_id). */
static int greedy(const cl_model *m, int bos, int n, int stop_id, int32_t *out) {
    cl_kv *kv = cl_kv_new(m, n);
    float *lg = cl_malloc((size_t)m->cfg.n_vocab * sizeof *lg);
    int len = 0;
    out[len++] = bos;
    while (len < n) {
        cl_batch b = {.n_tokens = 1, .ids = out + len - 1, .logits = lg};
        if (cl_forward(m, kv, &b) < 0) break;
        out[len] = cl_argmax(lg, m->cfg.n_vocab);
        if (out[len++] == stop_id) break;
    }
    free(lg);
    cl_kv_free(kv);
    return len;
}

static void tinystories(void) {
    const char *dir = t_shared("models/tinystories-656k");
    const char *ref = t_shared("models/tinystories-656k/greedy-reference.ids.txt");
    if (!dir || !ref) {
        SKIP("../shared/models/tinystories-656k absent");
        return;
    }
    int32_t want[128];
    int nw = 0;
    FILE *f = fopen(ref, "r");
    while (nw < 128 && fscanf(f, "%d,", &want[nw]) == 1) nw++;
    fclose(f);
    OK(nw == 101 && want[0] == 1, "reference holds 101 ids, BOS first");
    cl_model_file *mf = cl_model_file_open(dir);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    OK(m != NULL, "load tinystories-656k: %s", m ? "ok" : cl_error());
    if (!m) return;
    int32_t got[128];
    int n = greedy(m, 1, nw, -1, got), first_diff = -1;
    for (int i = 0; i < nw && first_diff < 0; i++)
        if (i >= n || got[i] != want[i]) first_diff = i;
    OK(first_diff < 0, "tinystories-656k greedy with KV cache == reference, 101 ids (first difference at %d)", first_diff);

    /* Without the cache: re-run the whole prefix for each new token (first 30 tokens). */
    float *lg = cl_malloc((size_t)m->cfg.n_vocab * sizeof *lg);
    int same = 1;
    for (int t = 1; t < 30 && same; t++) {
        cl_batch b = {.n_tokens = t, .ids = want, .logits = lg};
        same = cl_forward(m, NULL, &b) == 0 && cl_argmax(lg, m->cfg.n_vocab) == want[t];
    }
    OK(same, "tinystories-656k greedy by full prefill (no cache) == reference for 30 tokens");
    free(lg);
    cl_model_free(m);
    cl_model_file_close(mf);
}

/* llama2.c tokenizer.bin: int max_len, then per token: float score, int len, bytes. */
static char **read_llama2c_vocab(const char *path, int n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    int maxlen;
    char **v = cl_calloc((size_t)n, sizeof *v);
    int ok = fread(&maxlen, 4, 1, f) == 1;
    for (int i = 0; ok && i < n; i++) {
        float score;
        int len;
        ok = fread(&score, 4, 1, f) == 1 && fread(&len, 4, 1, f) == 1 && len >= 0 && len < 1000;
        if (!ok) break;
        v[i] = cl_calloc((size_t)len + 1, 1);
        ok = fread(v[i], 1, (size_t)len, f) == (size_t)len;
    }
    fclose(f);
    if (!ok) {
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

static void stories260k(void) {
    const char *bin = t_shared("models/stories260k/stories260K.bin");
    const char *tokp = t_shared("models/stories260k/tok512.bin");
    const char *ref = t_shared("models/stories260k/greedy-reference.txt");
    if (!bin || !tokp || !ref) {
        SKIP("../shared/models/stories260k absent");
        return;
    }
    cl_model_file *mf = cl_model_file_open(bin);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    OK(m != NULL, "load stories260K.bin: %s", m ? "ok" : cl_error());
    if (!m) return;
    char **vocab = read_llama2c_vocab(tokp, m->cfg.n_vocab);
    OK(vocab != NULL, "read tok512.bin");
    if (!vocab) return;
    /* run.c: 256 steps from BOS; prints each sampled token, stops early if it samples BOS. */
    int32_t ids[257];
    int n = greedy(m, 1, 257, 1, ids);
    if (ids[n - 1] == 1) n--;
    char text[8192];
    size_t tl = 0;
    for (int i = 1; i < n && tl < sizeof text - 16; i++) {
        const char *p = vocab[ids[i]];
        if (ids[i - 1] == 1 && p[0] == ' ') p++;   /* run.c strips the space after BOS */
        unsigned byte;
        if (sscanf(p, "<0x%02X>", &byte) == 1) {
            if (byte >= 32 || byte == '\n' || byte == '\t' || byte == '\r') text[tl++] = (char)byte;
        } else {
            tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s", p);
        }
    }
    text[tl++] = '\n';   /* run.c ends with a newline */
    text[tl] = 0;
    char *want;
    size_t wl;
    int rd = cl_read_file(ref, &want, &wl);
    size_t common = 0;
    while (rd == 0 && common < wl && common < tl && want[common] == text[common]) common++;
    OK(rd == 0 && wl == tl && common == wl,
       "stories260k greedy text == llama2.c run.c reference (%zu bytes; first %zu agree)", wl, common);
    if (rd == 0) free(want);
    for (int i = 0; i < m->cfg.n_vocab; i++) free(vocab[i]);
    free(vocab);
    cl_model_free(m);
    cl_model_file_close(mf);
}

int main(void) {
    tinystories();
    stories260k();
    return t_done();
}
