/* train_gen.h — continue a prefix with the base model (KV cache): greedy or sampled.  Used by
 * cl-train to make the teacher's answers and to sample training stories. */
#ifndef CL_TRAIN_GEN_H
#define CL_TRAIN_GEN_H
#include <stdint.h>
#include "model.h"
#include "sample.h"

/* Prefix: n_pre positions given as ids (pre_ids) or as embeddings [n_pre, dim] (pre_embd).
 * Generates up to max_new tokens into out; stops before EOS when stop_eos.  sampler NULL means
 * greedy.  Returns the number generated, or -1. */
int tr_generate(const cl_model *m, const int32_t *pre_ids, const float *pre_embd, int n_pre,
                int max_new, cl_sampler *sampler, int stop_eos, int32_t *out);

#endif
