/* rng.h — the project's one pseudo-random generator: xoshiro256** seeded by splitmix64, so a
 * seed gives the same numbers on every platform (never rand()).  Used for sampling tokens,
 * shuffles, initialisations and test data. */
#ifndef CL_RNG_H
#define CL_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } cl_rng;
void cl_rng_seed(cl_rng *r, uint64_t seed);          /* splitmix64 expansion of the seed */
uint64_t cl_rng_next(cl_rng *r);
double cl_rng_uniform(cl_rng *r);                    /* [0, 1), 53 random bits */
float cl_rng_normal(cl_rng *r);                      /* N(0, 1) (Box-Muller) */
void cl_rng_fill_normal(cl_rng *r, float *x, long n, float std);

/* splitmix64: the next value of a one-word generator advanced in *x (seeding; small streams). */
static inline uint64_t cl_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
