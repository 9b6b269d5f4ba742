/* rng.c — xoshiro256** and its deviates (see rng.h). */
#include "rng.h"
#include <math.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void cl_rng_seed(cl_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = cl_splitmix64(&seed);
}

uint64_t cl_rng_next(cl_rng *r) {   /* xoshiro256** */
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double cl_rng_uniform(cl_rng *r) { return (cl_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

float cl_rng_normal(cl_rng *r) {
    double u1 = cl_rng_uniform(r), u2 = cl_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void cl_rng_fill_normal(cl_rng *r, float *x, long n, float std) {
    for (long i = 0; i < n; i++) x[i] = std * cl_rng_normal(r);
}
