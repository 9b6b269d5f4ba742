/* test_sample.c — greedy, seeded temperature sampling and the top-p nucleus. */
#include <math.h>

#include "sample.h"
#include "t.h"

int main(void) {
    cl_sampler s;
    float lg[4] = {0.5f, 2.0f, -1.0f, 2.0f};
    cl_sampler_init(&s, 0.0f, 1.0f, 1);
    OK(cl_sample(&s, lg, 4) == 1, "temperature 0 is argmax (first of ties)");
    cl_sampler_free(&s);

    /* Probabilities 0.6 / 0.3 / 0.1 at temperature 1. */
    float l3[3] = {logf(0.6f), logf(0.3f), logf(0.1f)};
    int cnt[3] = {0}, N = 20000;
    cl_sampler_init(&s, 1.0f, 1.0f, 42);
    for (int i = 0; i < N; i++) cnt[cl_sample(&s, l3, 3)]++;
    cl_sampler_free(&s);
    /* binomial sd at N=20000 is <= 0.0035; allow 5 sd */
    OK(fabs(cnt[0] / (double)N - 0.6) < 0.018 && fabs(cnt[1] / (double)N - 0.3) < 0.018 &&
           fabs(cnt[2] / (double)N - 0.1) < 0.018,
       "temperature 1 draws match softmax (%d %d %d of %d)", cnt[0], cnt[1], cnt[2], N);

    int a[50], b[50], same = 1, varied = 0;
    cl_sampler_init(&s, 1.0f, 1.0f, 7);
    for (int i = 0; i < 50; i++) a[i] = cl_sample(&s, l3, 3);
    cl_sampler_free(&s);
    cl_sampler_init(&s, 1.0f, 1.0f, 7);
    for (int i = 0; i < 50; i++) same &= (b[i] = cl_sample(&s, l3, 3)) == a[i];
    cl_sampler_free(&s);
    for (int i = 1; i < 50; i++) varied |= a[i] != a[0];
    OK(same && varied, "the same seed gives the same draws");

    int only0 = 1;
    cl_sampler_init(&s, 1.0f, 0.5f, 3);
    for (int i = 0; i < 2000; i++) only0 &= cl_sample(&s, l3, 3) == 0;
    cl_sampler_free(&s);
    OK(only0, "top-p 0.5 keeps only the 0.6 token");

    int c2[3] = {0};
    cl_sampler_init(&s, 1.0f, 0.8f, 5);
    for (int i = 0; i < N; i++) c2[cl_sample(&s, l3, 3)]++;
    cl_sampler_free(&s);
    OK(c2[2] == 0 && fabs(c2[0] / (double)N - 2.0 / 3) < 0.018,
       "top-p 0.8 renormalises over {0.6, 0.3} (%d %d %d)", c2[0], c2[1], c2[2]);

    /* temperature sharpens: at T=0.25 p0 = 0.6^4 / (0.6^4 + 0.3^4 + 0.1^4) = 0.9411 */
    int t0 = 0;
    cl_sampler_init(&s, 0.25f, 1.0f, 9);
    for (int i = 0; i < N; i++) t0 += cl_sample(&s, l3, 3) == 0;
    cl_sampler_free(&s);
    OK(fabs(t0 / (double)N - 0.9411) < 0.01, "temperature 0.25 sharpens (%d of %d)", t0, N);

    cl_rng r;
    cl_rng_seed(&r, 0);
    double mean = 0;
    for (int i = 0; i < 10000; i++) {
        double u = cl_rng_uniform(&r);
        if (u < 0 || u >= 1) mean = -1e9;
        mean += u / 10000;
    }
    OK(fabs(mean - 0.5) < 0.015, "cl_rng_uniform in [0,1) with mean 0.5 (%.4f)", mean);
    return t_done();
}
