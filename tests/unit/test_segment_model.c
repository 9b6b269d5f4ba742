/* test_segment_model.c — the segmenter with the real tinystories-656k and stories260k tokenizers:
 * every segment's ids are exactly the tokenizer's encoding of its text alone (no BOS), at most S
 * of them, and the texts concatenate to the input.  Skips when ../shared is absent. */
#include "segmenter.h"
#include "t.h"
#include "tokenizer.h"
#include "util.h"
#include <string.h>

typedef struct {
    const cl_tokenizer *tok;
    int S;
    size_t pos, n, bad_ids, over, recon_bad;
    const char *input;
} ctx;

static int enc(void *c, const char *t, size_t len, int32_t **ids, size_t *n) {
    return cl_tokenizer_encode(c, t, len, 0, ids, n);
}
static size_t tlen(void *c, int32_t id) {
    char b[64];
    return cl_tokenizer_token_bytes(c, id, b, sizeof b);
}

static int check_one(void *p, const cl_segment *s) {
    ctx *c = p;
    int32_t *ids;
    size_t n;
    if (cl_tokenizer_encode(c->tok, s->text, s->text_len, 0, &ids, &n)) return -1;
    if (n != s->n_ids || memcmp(ids, s->ids, n * sizeof *ids)) c->bad_ids++;
    free(ids);
    if (s->n_ids > (size_t)c->S) c->over++;
    if (s->offset != c->pos || memcmp(c->input + c->pos, s->text, s->text_len)) c->recon_bad++;
    c->pos += s->text_len;
    c->n++;
    return 0;
}

static void run_model(const char *label, cl_tokenizer *tok) {
    const char *files[] = {"tests/data/segment-en.txt", "tests/data/segment-de.txt",
                           "tests/data/segment-zh.txt", "tests/data/segment-ja.txt",
                           "tests/data/segment-urls.txt"};
    int limits[] = {20, 6};
    for (int f = 0; f < 5; f++)
        for (int l = 0; l < 2; l++) {
            char *text;
            size_t len;
            if (cl_read_file(files[f], &text, &len)) {
                OK(0, "%s", cl_error());
                continue;
            }
            ctx c = {.tok = tok, .S = limits[l], .input = text};
            cl_segmenter_opts o = {.locale = "en", .max_tokens = limits[l],
                                   .tok = {enc, tlen, tok}, .emit = check_one, .ctx = &c};
            cl_segmenter *s = cl_segmenter_new(&o);
            int rc = s ? cl_segmenter_feed(s, text, len) : -1;
            if (rc == 0) rc = cl_segmenter_end(s);
            cl_segmenter_free(s);
            OK(rc == 0 && c.pos == len && c.recon_bad == 0 && c.over == 0 && c.bad_ids == 0,
               "%s %s S=%d: %zu segments, ids = encoding alone (%zu differ), <= S (%zu over), exact",
               label, files[f] + 11, limits[l], c.n, c.bad_ids, c.over);
            free(text);
        }
}

int main(void) {
    const char *json = t_shared("models/tinystories-656k/tokenizer.json");
    if (!json) SKIP("needs ../shared/models/tinystories-656k");
    else {
        cl_tokenizer *t = cl_tokenizer_from_json(json);
        OK(t != NULL, "tinystories tokenizer loads");
        if (t) run_model("tinystories", t);
        cl_tokenizer_free(t);
    }
    const char *bin = t_shared("models/stories260k/tok512.bin");
    if (!bin) SKIP("needs ../shared/models/stories260k");
    else {
        cl_tokenizer *t = cl_tokenizer_from_llama2c(bin, 512);
        OK(t != NULL, "stories260k tokenizer loads");
        if (t) run_model("stories260k", t);
        cl_tokenizer_free(t);
    }
    return t_done();
}
