/* eval_prompt.c — question prompts around a context, and a text's segments (eval_prompt.h). */
#include "eval_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "segmenter.h"
#include "util.h"

static int append(int32_t **dst, int *n, const cl_tokenizer *tok, const char *text, int flags) {
    if (!*text) return 0;
    int32_t *ids;
    size_t k;
    if (cl_tokenizer_encode(tok, text, strlen(text), flags, &ids, &k) < 0) return -1;
    *dst = cl_realloc(*dst, (size_t)(*n + (int)k + 1) * sizeof **dst);
    memcpy(*dst + *n, ids, k * sizeof *ids);
    *n += (int)k;
    free(ids);
    return 0;
}

/* Whether encoding a word alone puts a space before it (SentencePiece's dummy prefix). */
static int adds_leading_space(const cl_tokenizer *tok) {
    int32_t *ids;
    size_t n;
    char buf[64];
    if (cl_tokenizer_encode(tok, "a", 1, 0, &ids, &n) < 0) return 0;
    int r = n > 0 && cl_tokenizer_token_bytes(tok, ids[0], buf, sizeof buf) > 0 && buf[0] == ' ';
    free(ids);
    return r;
}

int cl_qa_prompt_build(cl_qa_prompt *p, const cl_tokenizer *tok, const cl_chat *chat, int has_context,
                       const char *question) {
    memset(p, 0, sizeof *p);
    p->pre = cl_malloc(sizeof *p->pre);
    p->post = cl_malloc(sizeof *p->post);
    int bos = cl_tokenizer_bos(tok);
    int want_bos = chat->kind == CL_CHAT_NONE ? cl_tokenizer_add_bos(tok) : cl_chat_wants_bos(chat);
    if (bos >= 0 && want_bos) p->pre[p->n_pre++] = bos;
    char *pre = cl_chat_prefix(chat), *suf = cl_chat_suffix(chat);
    /* the question: after a blank line inside a chat turn, as a continuation otherwise */
    const char *sep = chat->kind != CL_CHAT_NONE ? (has_context ? "\n\n" : "")
                      : (has_context && !adds_leading_space(tok) ? " " : "");
    size_t lq = strlen(sep) + strlen(question) + 1;
    char *q = cl_malloc(lq);
    snprintf(q, lq, "%s%s", sep, question);
    /* only the template's own markers become special tokens, never the user's text */
    int rc = append(&p->pre, &p->n_pre, tok, pre, CL_TOK_SPECIAL) < 0 ||
                     append(&p->post, &p->n_post, tok, q, 0) < 0 ||
                     append(&p->post, &p->n_post, tok, suf, CL_TOK_SPECIAL) < 0
                 ? -1 : 0;
    free(q);
    free(pre);
    free(suf);
    if (rc < 0) cl_qa_prompt_free(p);
    return rc;
}

void cl_qa_prompt_free(cl_qa_prompt *p) {
    free(p->pre);
    free(p->post);
    memset(p, 0, sizeof *p);
}

/* the tokenizer as the segmenter sees it */
static int seg_encode(void *ctx, const char *text, size_t len, int32_t **ids, size_t *n) {
    return cl_tokenizer_encode(ctx, text, len, 0, ids, n);
}
static size_t seg_token_len(void *ctx, int32_t id) {
    char buf[64];
    return cl_tokenizer_token_bytes(ctx, id, buf, sizeof buf);
}

typedef struct {
    int32_t *ids;
    int *len;
    int n_ids, n_seg, cap_ids, cap_seg;
} seg_acc;

static int on_seg(void *ctx, const cl_seg *s) {
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

int cl_text_segments(const cl_tokenizer *tok, const char *text, int S, int32_t **ids, int **seg_len,
                     int *n_seg) {
    seg_acc a = {0};
    cl_segmenter_opts so = {.max_tokens = S, .lossy = 1, .emit = on_seg, .ctx = &a,
                            .tok = {.encode = seg_encode, .token_len = seg_token_len, .ctx = (void *)tok}};
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
