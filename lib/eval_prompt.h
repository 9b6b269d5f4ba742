/* eval_prompt.h — the pieces of a question prompt around its context, laid out as cl-ask lays
 * them out ([BOS] + chat prefix + CONTEXT + separator + question + chat suffix), so that the
 * context can be given as its tokens or as concept embeddings; and a text's segments for the
 * compressor, cut exactly as cl-segment cuts them (segmenter.h). */
#ifndef CL_EVAL_PROMPT_H
#define CL_EVAL_PROMPT_H
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

#endif
