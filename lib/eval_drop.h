/* eval_drop.h — the hard-compression baseline of cl-eval: token dropping by self-information
 * (Selective Context, LLMLingua), at the same rate as a CompLLM compressor.
 *
 * Self-information of context token i is -log p(ids[i] | start, ids[0..i)) under the base model
 * (nats): computed causally over the whole context so far (the start token, BOS, first), never
 * looking ahead, so the filter still streams: a segment's choice depends only on it and what came
 * before.  The context is cut into the same segments the compressor gets (cl_text_segments) and
 * each segment of n tokens keeps exactly k = ceil(n / C) of them, the count of CEs it would get
 * (cl_compress_n_out): so the kept tokens occupy exactly as many KV positions as the CEs.  Kept
 * tokens stay in their order and are fed as token ids (not decoded and re-encoded, which could
 * change their count). */
#ifndef CL_EVAL_DROP_H
#define CL_EVAL_DROP_H
#include <stdint.h>
#include "model.h"

/* The k = ceil(n / C) positions of the largest si[0..n) (n >= 0, C >= 1), ascending, into
 * keep[]; ties go to the earlier position; NaN counts as the smallest value.  Returns k. */
int cl_drop_select(const float *si, int n, int C, int *keep);

/* Token dropping of a context given as n_seg segments (ids concatenated, seg_len[i] each):
 * self-information as above with `start` before the first token, then cl_drop_select per segment.
 * out (room for the sum of ceil(seg_len[i] / C)) gets the kept ids; si (may be NULL; room for
 * all tokens) gets every token's self-information.  Returns the number kept, or -1. */
int cl_drop_tokens(const cl_model *m, int32_t start, const int32_t *ids, const int *seg_len, int n_seg,
                   int C, int32_t *out, float *si);

#endif
