/* train_rand.h — a small deterministic RNG (xoshiro256**) and random-weight models for tests and
 * speed measurements (speed does not depend on weight values). */
#ifndef CL_TRAIN_RAND_H
#define CL_TRAIN_RAND_H
#include <stdint.h>
#include "model.h"

typedef struct { uint64_t s[4]; } tr_rng;
void tr_rng_seed(tr_rng *r, uint64_t seed);
uint64_t tr_rng_next(tr_rng *r);
double tr_rng_uniform(tr_rng *r);             /* [0, 1) */
float tr_rng_normal(tr_rng *r);               /* N(0, 1) */
void tr_rng_fill_normal(tr_rng *r, float *x, long n, float std);

/* A model with N(0, std^2) weights (norm weights 1 + N(0, 0.1^2)), biases when cfg->attn_bias.
 * Free with tr_model_random_free (not cl_model_free). */
cl_model *tr_model_random(const cl_config *cfg, uint64_t seed, float std);
void tr_model_random_free(cl_model *m);

#endif
