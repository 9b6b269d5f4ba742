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

static void add_piece(cl_prompt *pr, cl_prompt_piece p) {
    if (p.n == 0) {
        free(p.ids);
        free(p.embd);
        return;
    }
    pr->p[pr->n++] = p;
}

int cl_prompt_build(cl_prompt *pr, const cl_tokenizer *tok, const cl_chat *chat, const char *context,
                    float *ce, int n_ce, const char *question) {
    memset(pr, 0, sizeof *pr);
    cl_prompt_piece ctx = {0};
    if (n_ce > 0) {
        ctx = (cl_prompt_piece){.embd = ce, .n = n_ce};   /* compressed context: the CEs */
    } else {
        free(ce);
        if (context && *context) {
            size_t n;
            if (cl_tokenizer_encode(tok, context, strlen(context), 0, &ctx.ids, &n) < 0) return -1;
            ctx.n = (int)n;
            if (n > (1u << 30)) {
                free(ctx.ids);
                return cl_fail("text too long");
            }
        }
    }
    pr->context_tokens = ctx.n;
    cl_qa_prompt qp;
    if (cl_qa_prompt_build(&qp, tok, chat, ctx.n > 0, question) < 0) {
        free(ctx.ids);
        free(ctx.embd);
        return -1;
    }
    add_piece(pr, (cl_prompt_piece){.ids = qp.pre, .n = qp.n_pre});
    add_piece(pr, ctx);
    add_piece(pr, (cl_prompt_piece){.ids = qp.post, .n = qp.n_post});
    return 0;
}

int cl_prompt_len(const cl_prompt *pr) {
    int n = 0;
    for (int i = 0; i < pr->n; i++) n += pr->p[i].n;
    return n;
}

int cl_prompt_has_embd(const cl_prompt *pr) {
    for (int i = 0; i < pr->n; i++)
        if (pr->p[i].embd) return 1;
    return 0;
}

int32_t *cl_prompt_ids(const cl_prompt *pr) {
    if (cl_prompt_has_embd(pr)) return NULL;
    int32_t *ids = cl_malloc(((size_t)cl_prompt_len(pr) + 1) * sizeof *ids);
    size_t k = 0;
    for (int i = 0; i < pr->n; i++) {
        memcpy(ids + k, pr->p[i].ids, (size_t)pr->p[i].n * sizeof *ids);
        k += (size_t)pr->p[i].n;
    }
    return ids;
}

float *cl_prompt_embeddings(const cl_prompt *pr, const cl_tensor *table, int n_vocab, int dim) {
    int64_t row_bytes = cl_dtype_bytes(table->dtype, dim);
    if (row_bytes < 0) return cl_fail_prefix("token embeddings"), NULL;
    if (cl_tensor_nelem(table) != (int64_t)n_vocab * dim || (uint64_t)row_bytes * (uint64_t)n_vocab > table->nbytes)
        return cl_fail("token embeddings: %lld elements, expected %d x %d", (long long)cl_tensor_nelem(table), n_vocab,
                       dim), NULL;
    size_t d = (size_t)dim;
    float *e = cl_malloc(((size_t)cl_prompt_len(pr) * d + 1) * sizeof *e), *row = e;
    for (int i = 0; i < pr->n; i++) {
        const cl_prompt_piece *p = &pr->p[i];
        if (p->embd) {
            memcpy(row, p->embd, (size_t)p->n * d * sizeof *row);
            row += (size_t)p->n * d;
            continue;
        }
        for (int t = 0; t < p->n; t++, row += d) {
            if (p->ids[t] < 0 || p->ids[t] >= n_vocab) {
                free(e);
                return cl_fail("prompt: token id %d outside the vocabulary of %d", (int)p->ids[t], n_vocab), NULL;
            }
            cl_convert_to_f32(table->dtype, table->data, (int64_t)p->ids[t] * dim, dim, row);
        }
    }
    return e;
}

void cl_prompt_free(cl_prompt *pr) {
    for (int i = 0; i < pr->n; i++) {
        free(pr->p[i].ids);
        free(pr->p[i].embd);
    }
    memset(pr, 0, sizeof *pr);
}
