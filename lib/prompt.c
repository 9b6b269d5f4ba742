/* prompt.c — the question prompt around a context (prompt.h). */
#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

char *cl_qa_question_text(const cl_tokenizer *tok, const cl_chat *chat, int has_context,
                          const char *question) {
    const char *sep = chat->kind != CL_CHAT_NONE ? (has_context ? "\n\n" : "")
                      : (has_context && !adds_leading_space(tok) ? " " : "");
    size_t lq = strlen(sep) + strlen(question) + 1;
    char *q = cl_malloc(lq);
    snprintf(q, lq, "%s%s", sep, question);
    return q;
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
    char *q = cl_qa_question_text(tok, chat, has_context, question);
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
