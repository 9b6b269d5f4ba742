/* sample.h — choosing the next token from logits.
 * Greedy (argmax) is the default and fully reproducible; with temperature > 0 tokens are drawn
 * from softmax(logits / temperature), optionally restricted to the top-p nucleus, with the
 * project's generator (rng.h) so a seed gives the same tokens on every platform. */
#ifndef CL_SAMPLE_H
#define CL_SAMPLE_H
#include <stdint.h>
#include "rng.h"


typedef struct { float p; int id; } cl_cand;
typedef struct {
    float temperature;   /* <= 0: greedy */
    float top_p;         /* (0, 1]; >= 1 disables the nucleus cut */
    cl_rng rng;
    float *probs;        /* scratch */
    cl_cand *cand;
    int cap;
} cl_sampler;

void cl_sampler_init(cl_sampler *s, float temperature, float top_p, uint64_t seed);
void cl_sampler_free(cl_sampler *s);
/* Next token from n logits (the logits are not modified). */
int cl_sample(cl_sampler *s, const float *logits, int n);

#endif
