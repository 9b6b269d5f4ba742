/* t_num.h — how far a result is from its reference, for the unit tests' tolerances. */
#ifndef T_NUM_H
#define T_NUM_H
#include <math.h>
#include <stddef.h>

/* max |a - ref| / max |ref| over n values (the denominator at least 1e-30). */
static inline double relmax(const float *a, const float *ref, size_t n) {
    double d = 0, mx = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - ref[i]));
        mx = fmax(mx, fabs((double)ref[i]));
    }
    return d / mx;
}

#endif
