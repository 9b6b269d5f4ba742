/* segment_text.c — a text in memory -> token-id segments (segment_text.h). */
#include "segment_text.h"

#include <stdlib.h>
#include <string.h>

#include "segmenter.h"
#include "util.h"

static int seg_encode(void *ctx, const char *text, size_t len, int32_t **ids, size_t *n) {
    return cl_tokenizer_encode(ctx, text, len, 0, ids, n);
}
static size_t seg_token_len(void *ctx, int32_t id) {
    char buf[64];
    return cl_tokenizer_token_bytes(ctx, id, buf, sizeof buf);
}

cl_seg_tok cl_seg_tok_for(const cl_tokenizer *tok) {
    return (cl_seg_tok){.encode = seg_encode, .token_len = seg_token_len, .ctx = (void *)tok};
}

typedef struct {
    int32_t *ids;
    int *len;
    int n_ids, n_seg, cap_ids, cap_seg;
} seg_acc;

static int on_seg(void *ctx, const cl_segment *s) {
    seg_acc *a = ctx;
    if (s->n_ids == 0) return 0;
    if (a->n_ids + (int)s->n_ids > a->cap_ids) {
        a->cap_ids = 2 * (a->n_ids + (int)s->n_ids) + 64;
        a->ids = cl_realloc(a->ids, (size_t)a->cap_ids * sizeof *a->ids);
    }
    memcpy(a->ids + a->n_ids, s->ids, s->n_ids * sizeof *a->ids);
    a->n_ids += (int)s->n_ids;
    if (a->n_seg == a->cap_seg) {
        a->cap_seg = 2 * a->cap_seg + 16;
        a->len = cl_realloc(a->len, (size_t)a->cap_seg * sizeof *a->len);
    }
    a->len[a->n_seg++] = (int)s->n_ids;
    return 0;
}

int cl_text_segments(const cl_tokenizer *tok, const char *text, int S, int lossy, int32_t **ids,
                     int **seg_len, int *n_seg) {
    seg_acc a = {0};
    cl_segmenter_opts so = {.max_tokens = S, .lossy = lossy, .emit = on_seg, .ctx = &a,
                            .tok = cl_seg_tok_for(tok)};
    cl_segmenter *sg = cl_segmenter_new(&so);
    if (!sg) return -1;
    int rc = cl_segmenter_feed(sg, text, strlen(text)) < 0 || cl_segmenter_end(sg) < 0 ? -1 : 0;
    cl_segmenter_free(sg);
    if (rc < 0) {
        free(a.ids);
        free(a.len);
        return -1;
    }
    *ids = a.ids ? a.ids : cl_malloc(sizeof **ids);
    *seg_len = a.len ? a.len : cl_malloc(sizeof **seg_len);
    *n_seg = a.n_seg;
    return 0;
}
