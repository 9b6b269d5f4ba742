/* prompt.h — the question prompt around a context, the one layout cl-ask, cl-eval and cl-train
 * use: [BOS] + chat prefix + CONTEXT + separator + question + chat suffix, with the context left
 * out so that it can be given as its tokens or as concept embeddings. */
#ifndef CL_PROMPT_H
#define CL_PROMPT_H
#include <stdint.h>
#include "chat.h"
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

#endif
