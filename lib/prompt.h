/* prompt.h — the question prompt around a context, the one layout cl-ask, cl-eval and cl-train
 * use: [BOS] + chat prefix + CONTEXT + separator + question + chat suffix, with the context left
 * out so that it can be given as its tokens or as concept embeddings. */
#ifndef CL_PROMPT_H
#define CL_PROMPT_H
#include <stdint.h>
#include "chat.h"
#include "tensor.h"
#include "tokenizer.h"

typedef struct {
    int32_t *pre;    /* [BOS] + chat prefix */
    int n_pre;
    int32_t *post;   /* separator + question + chat suffix */
    int n_post;
} cl_qa_prompt;

/* has_context: whether a context piece goes between pre and post (it changes the separator). */
int cl_qa_prompt_build(cl_qa_prompt *p, const cl_tokenizer *tok, const cl_chat *chat, int has_context,
                       const char *question);
void cl_qa_prompt_free(cl_qa_prompt *p);

/* The question as the prompt reads it, malloc'd: after a blank line inside a chat turn; in a
 * plain continuation after a context, after a space unless the tokenizer puts one before a
 * word encoded alone (SentencePiece's dummy prefix); as is otherwise. */
char *cl_qa_question_text(const cl_tokenizer *tok, const cl_chat *chat, int has_context,
                          const char *question);

/* The whole prompt as the model reads it, in pieces: [BOS] + chat prefix, the context, the
 * question + chat suffix.  Each piece is n positions given as token ids or as embeddings
 * [n, dim] (exactly one of ids and embd); empty pieces are left out.  The local model
 * (cl-ask's prefill) and a remote server (remote_ask.h) are fed from this one structure. */
typedef struct {
    int32_t *ids;
    float *embd;
    int n;
} cl_prompt_piece;

typedef struct {
    cl_prompt_piece p[3];
    int n;                /* pieces in use */
    int context_tokens;   /* positions of the context piece (tokens or CEs) */
} cl_prompt;

/* Lay out [BOS] + chat prefix + CONTEXT + question (+ chat suffix) (cl_qa_prompt_build).
 * CONTEXT is the text context tokenized (context non-NULL, non-empty), or the n_ce concept
 * embeddings ce [n_ce, dim] when n_ce > 0 (the prompt takes ownership of ce, freed by
 * cl_prompt_free even when this fails), or nothing.  0, or -1 (cl_error). */
int cl_prompt_build(cl_prompt *pr, const cl_tokenizer *tok, const cl_chat *chat, const char *context,
                    float *ce, int n_ce, const char *question);
int cl_prompt_len(const cl_prompt *pr);   /* positions in all pieces */
/* Whether some piece is given as embeddings (so the prompt cannot be sent as token ids). */
int cl_prompt_has_embd(const cl_prompt *pr);
/* The ids of the whole prompt, malloc'd [cl_prompt_len], or NULL when some piece is embeddings. */
int32_t *cl_prompt_ids(const cl_prompt *pr);
/* The whole prompt as the input embeddings the model reads, malloc'd [cl_prompt_len, dim]:
 * token ids become rows of the token-embedding table (the model file's "token_embd.weight",
 * [n_vocab, dim], converted to f32 as cl_model_load converts it, so without loading the model),
 * embedding pieces are copied.  NULL (cl_error) on an id outside the vocabulary or a table of
 * the wrong size. */
float *cl_prompt_embeddings(const cl_prompt *pr, const cl_tensor *table, int n_vocab, int dim);
void cl_prompt_free(cl_prompt *pr);

#endif
