/* t_rng.h — the unit tests' random numbers: Marsaglia's xorshift64 (13, 7, 17), a fixed sequence
 * from the seed, so a failing case reproduces.  Define T_RNG_SEED before including it to start
 * elsewhere (default the golden-ratio constant).  One state per test program (static). */
#ifndef T_RNG_H
#define T_RNG_H
#include <stdint.h>

#ifndef T_RNG_SEED
#define T_RNG_SEED 0x9E3779B97F4A7C15ull
#endif

static uint64_t t_rng_state = T_RNG_SEED;

/* The next 32 random bits (the state's high half). */
static inline uint32_t rnd(void) {
    t_rng_state ^= t_rng_state << 13;
    t_rng_state ^= t_rng_state >> 7;
    t_rng_state ^= t_rng_state << 17;
    return (uint32_t)(t_rng_state >> 32);
}

/* Uniform in [-1, 1) on a grid of 2^-23 (24 random bits). */
static inline float urand(void) { return (float)(rnd() >> 8) / 8388608.0f - 1.0f; }

#endif
