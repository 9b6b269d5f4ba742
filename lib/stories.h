/* stories.h — training/evaluation text sampled from the base model itself (cl-train --gen-data,
 * cl-eval's story set). */
#ifndef CL_STORIES_H
#define CL_STORIES_H
#include <stdint.h>
#include <stdio.h>
#include "model.h"
#include "tokenizer.h"

/* Sample n stories from the model (from BOS, temperature, stop at the model's stop ids (stop.h) or max_tokens) and write,
 * per story, {"context": the text up to a sentence end near a random 30-70% of it} as JSONL.
 * max_context_tokens > 0: a story whose context encodes to more tokens is skipped (the nearest
 * sentence end can be the story's last, e.g. in a degenerate run of letters), and counted in
 * *n_long if n_long != NULL; 1000 such stories in a row fail.  0: no limit (cl-eval's set).
 * Skipping leaves every other story as it would be without the limit. */
int cl_sample_stories(const cl_model *m, const cl_tokenizer *tok, int n, float temperature,
                      int max_tokens, int max_context_tokens, uint64_t seed, FILE *out, int progress,
                      int *n_long);

#endif
