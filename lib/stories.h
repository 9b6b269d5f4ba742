/* stories.h — training/evaluation text sampled from the base model itself (cl-train --gen-data,
 * cl-eval's story set). */
#ifndef CL_STORIES_H
#define CL_STORIES_H
#include <stdint.h>
#include <stdio.h>
#include "model.h"
#include "tokenizer.h"

/* Sample n stories from the model (from BOS, temperature, stop at the model's stop ids (stop.h) or max_tokens) and write,
 * per story, {"context": the text up to a sentence end near a random 30-70% of it} as JSONL. */
int cl_sample_stories(const cl_model *m, const cl_tokenizer *tok, int n, float temperature,
                      int max_tokens, uint64_t seed, FILE *out, int progress);

#endif
