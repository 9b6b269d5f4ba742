/* train_rand.h — random-weight models with normal weights for the trainer's tests. */
#ifndef CL_TRAIN_RAND_H
#define CL_TRAIN_RAND_H
#include <stdint.h>
#include "model.h"
#include "rng.h"


/* A model with N(0, std^2) weights (norm weights 1 + N(0, 0.1^2)), biases when cfg->attn_bias.
 * Free with tr_model_random_free (not cl_model_free). */
cl_model *tr_model_random(const cl_config *cfg, uint64_t seed, float std);
void tr_model_random_free(cl_model *m);

#endif
