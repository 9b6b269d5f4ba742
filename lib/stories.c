/* stories.c — text sampled from the base model itself (see stories.h). */
#include "stories.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "generate.h"
#include "stop.h"
#include "util.h"

/* the sentence end (after ". ", "! ", "? " or a newline) closest to target, or 0 */
static size_t sentence_cut(const char *s, size_t len, size_t target) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        int end = (s[i] == '\n') || ((s[i - 1] == '.' || s[i - 1] == '!' || s[i - 1] == '?') && s[i] == ' ');
        if (!end) continue;
        size_t d = i > target ? i - target : target - i, bd = best > target ? best - target : target - best;
        if (!best || d < bd) best = i;
    }
    return best;
}

/* 1 if the first len bytes of text encode to more than max tokens, 0 if not, -1 on error */
static int too_long(const cl_tokenizer *tok, const char *text, size_t len, int max) {
    int32_t *ids = NULL;
    size_t k = 0;
    if (cl_tokenizer_encode(tok, text, len, 0, &ids, &k) < 0) return -1;
    free(ids);
    return k > (size_t)max;
}

int cl_sample_stories(const cl_model *m, const cl_tokenizer *tok, int n, float temperature,
                   int max_tokens, int max_context_tokens, uint64_t seed, FILE *out, int progress,
                   int *n_long) {
    cl_sampler s;
    cl_sampler_init(&s, temperature, 1.0f, seed);
    cl_rng r;
    cl_rng_seed(&r, seed ^ 0x5eed);
    int32_t *ids = cl_malloc((size_t)max_tokens * sizeof(int32_t)), bos = m->cfg.bos_id;
    if (bos < 0) { free(ids); cl_sampler_free(&s); return cl_fail("gen-data: the model has no BOS"); }
    int done = 0, rc = 0, long_run = 0, stop[CL_STOP_MAX], n_stop = cl_stop_ids(&m->cfg, NULL, NULL, stop);
    double t0 = cl_now(), tp = t0;
    while (done < n) {
        cl_piece pre = {.ids = &bos, .n = 1};
        int k = cl_generate(m, &pre, 1, max_tokens, &s, stop, n_stop, NULL, NULL, ids, NULL);
        if (k < 0) { rc = -1; break; }
        char *text;
        size_t len;
        if (cl_tokenizer_decode(tok, ids, (size_t)k, &text, &len)) { rc = -1; break; }
        char *mark = strstr(text, "<|");   /* the story model writes its end marker as text */
        if (mark) len = (size_t)(mark - text);
        size_t cut = sentence_cut(text, len, (size_t)(len * (0.3 + 0.4 * cl_rng_uniform(&r))));
        int skip = cut >= 40 && max_context_tokens > 0 ? too_long(tok, text, cut + 1, max_context_tokens) : 0;
        if (skip < 0) { free(text); rc = -1; break; }
        if (skip) {
            if (n_long) ++*n_long;
            if (++long_run >= 1000) {
                free(text);
                rc = cl_fail("gen-data: %d stories in a row have contexts of over %d tokens", long_run, max_context_tokens);
                break;
            }
        } else if (cut >= 40) {
            long_run = 0;
            json_t *o = json_object();
            /* keep the space or newline after the sentence: the model then starts a new sentence
             * rather than ending the story */
            json_object_set_new(o, "context", json_stringn(text, cut + 1));
            char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            fprintf(out, "%s\n", line);
            free(line);
            json_decref(o);
            done++;
        }
        free(text);
        if (progress && cl_now() - tp > 2.0) {
            tp = cl_now();
            fprintf(stderr, "gen-data: %d/%d stories (%.1f/s)\n", done, n, done / (tp - t0));
        }
    }
    free(ids);
    cl_sampler_free(&s);
    return rc;
}
