/* test_prompt_embd.c — the prompt as input embeddings (prompt.h cl_prompt_embeddings), the
 * matrix cl-ask --server sends from the model file's table without loading the model, is exactly
 * what the local forward reads: its rows equal the
 * forward's own input embeddings (cl_batch.out_layers slab 0) of the token pieces, and feeding
 * it piece by piece as embeddings gives the local prefill's logits bit for bit.  On
 * tinystories-656k (../shared). */
#include <string.h>

#include "chat.h"
#include "model.h"
#include "prompt.h"
#include "t.h"
#include "tokenizer.h"
#include "util.h"

/* The forward's input embeddings of n ids (out_layers slab 0), malloc'd [n, dim]. */
static float *forward_inputs(const cl_model *m, const int32_t *ids, int n) {
    int L = m->cfg.n_layers, dim = m->cfg.dim;
    float *layers = cl_malloc((size_t)(L + 1) * n * dim * sizeof *layers);
    int *pos = cl_malloc((size_t)n * sizeof *pos);
    for (int i = 0; i < n; i++) pos[i] = i;
    cl_batch b = {.n_tokens = n, .ids = ids, .n_out = n, .out_pos = pos, .out_layers = layers};
    if (cl_forward(m, NULL, &b) < 0) {
        free(layers);
        layers = NULL;
    }
    free(pos);
    return layers;   /* slab 0 is first: [n, dim] */
}

/* Prefill the prompt piece by piece, as ids (embd == NULL) or as rows of embd; last logits. */
static int prefill(const cl_model *m, const cl_prompt *pr, const float *embd, float *logits) {
    cl_kv *kv = cl_kv_new(m, cl_prompt_len(pr));
    int rc = 0;
    size_t row = 0;
    for (int i = 0; i < pr->n && rc == 0; i++) {
        const cl_prompt_piece *p = &pr->p[i];
        cl_batch b = {.n_tokens = p->n, .logits = i == pr->n - 1 ? logits : NULL};
        if (embd) b.embd = embd + row * (size_t)m->cfg.dim;
        else if (p->ids) b.ids = p->ids;
        else b.embd = p->embd;
        rc = cl_forward(m, kv, &b);
        row += (size_t)p->n;
    }
    cl_kv_free(kv);
    return rc;
}

int main(void) {
    const char *dir = t_shared("models/tinystories-656k");
    if (!dir) {
        SKIP("../shared/models/tinystories-656k absent");
        return t_done();
    }
    cl_model_file *mf = cl_model_file_open(dir);
    cl_tokenizer *tok = mf ? cl_tokenizer_for_model(mf) : NULL;
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    if (!OK(m && tok, "model and tokenizer load")) return t_done();
    int dim = m->cfg.dim, V = m->cfg.n_vocab;
    const cl_tensor *table = cl_model_file_tensor(mf, "token_embd.weight");   /* read from the file */
    if (!OK(table, "the model file has token_embd.weight")) return t_done();
    cl_chat chat;
    cl_chat_detect(&chat, NULL);

    /* a text context: every piece is ids */
    cl_prompt pr;
    OK(cl_prompt_build(&pr, tok, &chat, "Max had a red ball. He played in the park.", NULL, 0, "Who is Max?") == 0,
       "text prompt builds");
    int n = cl_prompt_len(&pr);
    int32_t *ids = cl_prompt_ids(&pr);
    float *e = cl_prompt_embeddings(&pr, table, V, dim);
    float *in = forward_inputs(m, ids, n);
    OK(pr.n == 3 && e && in && !memcmp(e, in, (size_t)n * dim * sizeof *e),
       "text prompt: embeddings == the forward's own input embeddings, bit for bit (%d positions)", n);
    float *la = cl_malloc((size_t)V * sizeof *la), *lb = cl_malloc((size_t)V * sizeof *lb);
    OK(prefill(m, &pr, NULL, la) == 0 && prefill(m, &pr, e, lb) == 0 && !memcmp(la, lb, (size_t)V * sizeof *la),
       "text prompt: prefill from the embeddings == prefill from the ids, logits bit for bit");
    free(in);
    free(e);
    free(ids);
    cl_prompt_free(&pr);

    /* a compressed context: the CE rows sit between the token pieces, unchanged */
    int n_ce = 5;
    float *ce = cl_malloc((size_t)n_ce * dim * sizeof *ce);
    for (int i = 0; i < n_ce * dim; i++) ce[i] = (float)((i * 7919) % 2000) / 1000.0f - 1.0f;
    float *ce_copy = cl_malloc((size_t)n_ce * dim * sizeof *ce);
    memcpy(ce_copy, ce, (size_t)n_ce * dim * sizeof *ce);
    OK(cl_prompt_build(&pr, tok, &chat, NULL, ce, n_ce, "Who is Max?") == 0 && pr.n == 3 && pr.context_tokens == n_ce,
       "CE prompt builds: 3 pieces, the context is the %d CEs", n_ce);
    n = cl_prompt_len(&pr);
    e = cl_prompt_embeddings(&pr, table, V, dim);
    int n_pre = pr.p[0].n;
    OK(!cl_prompt_ids(&pr) && cl_prompt_has_embd(&pr), "CE prompt: no id form");
    OK(e && !memcmp(e + (size_t)n_pre * dim, ce_copy, (size_t)n_ce * dim * sizeof *e),
       "CE prompt: rows %d..%d are the CEs", n_pre, n_pre + n_ce - 1);
    float *pre = forward_inputs(m, pr.p[0].ids, pr.p[0].n), *post = forward_inputs(m, pr.p[2].ids, pr.p[2].n);
    OK(pre && post && !memcmp(e, pre, (size_t)n_pre * dim * sizeof *e) &&
           !memcmp(e + (size_t)(n_pre + n_ce) * dim, post, (size_t)pr.p[2].n * dim * sizeof *e),
       "CE prompt: the token rows == the forward's input embeddings of those ids");
    OK(prefill(m, &pr, NULL, la) == 0 && prefill(m, &pr, e, lb) == 0 && !memcmp(la, lb, (size_t)V * sizeof *la),
       "CE prompt: prefill from the whole matrix == the local mixed prefill, logits bit for bit");
    free(pre);
    free(post);
    free(e);

    /* an id outside the vocabulary is refused, naming it */
    pr.p[0].ids[0] = V;
    e = cl_prompt_embeddings(&pr, table, V, dim);
    OK(!e && strstr(cl_error(), "outside the vocabulary"), "an id outside the vocabulary: %s", cl_error());
    cl_prompt_free(&pr);

    free(ce_copy);
    free(la);
    free(lb);
    cl_chat_free(&chat);
    cl_model_free(m);
    cl_tokenizer_free(tok);
    cl_model_file_close(mf);
    return t_done();
}
