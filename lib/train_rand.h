/* train_rand.h — normal deviates from the project's RNG (cl_rng, sample.h) and random-weight
 * models for tests and speed measurements (speed does not depend on weight values). */
#ifndef CL_TRAIN_RAND_H
#define CL_TRAIN_RAND_H
#include <stdint.h>
#include "model.h"
#include "sample.h"   /* cl_rng */

float tr_rng_normal(cl_rng *r);               /* N(0, 1) */
void tr_rng_fill_normal(cl_rng *r, float *x, long n, float std);

/* A model with N(0, std^2) weights (norm weights 1 + N(0, 0.1^2)), biases when cfg->attn_bias.
 * Free with tr_model_random_free (not cl_model_free). */
cl_model *tr_model_random(const cl_config *cfg, uint64_t seed, float std);
void tr_model_random_free(cl_model *m);

#endif
