/* rope.c — RoPE inverse frequencies (see rope.h). */
#include "rope.h"
#include <math.h>

static double llama3_divisor(double inv, const cl_rope_scaling *s) {
    double wavelen = 2 * M_PI / inv, low_wl = s->orig_ctx / s->low_freq_factor, high_wl = s->orig_ctx / s->high_freq_factor;
    if (wavelen < high_wl) return 1;
    if (wavelen > low_wl) return s->factor;
    double smooth = (s->orig_ctx / wavelen - s->low_freq_factor) / (s->high_freq_factor - s->low_freq_factor);
    return 1 / ((1 - smooth) / s->factor + smooth);
}

/* Dimension (in pair index units times 2) whose wavelength makes n_rot turns over ctx positions. */
static double yarn_dim(double n_rot, int dim, double base, int ctx) {
    return dim * log(ctx / (n_rot * 2 * M_PI)) / (2 * log(base));
}

void cl_rope_inv_freq(double *inv, float *mscale, const cl_config *c, int local, const float *freq_factors) {
    int d = c->head_dim, half = d / 2;
    double base = local && c->rope_theta_local > 0 ? c->rope_theta_local : c->rope_theta;
    const cl_rope_scaling *s = &c->rope_scaling;
    int scaled = !(local && c->rope_theta_local > 0);
    *mscale = 1;
    for (int i = 0; i < half; i++) inv[i] = pow(base, -2.0 * i / d);
    if (!scaled) return;
    if (s->type == CL_ROPE_LINEAR)
        for (int i = 0; i < half; i++) inv[i] /= s->factor;
    if (s->type == CL_ROPE_LLAMA3)
        for (int i = 0; i < half; i++) inv[i] /= llama3_divisor(inv[i], s);
    if (s->type == CL_ROPE_YARN) {
        double lo = floor(yarn_dim(s->beta_fast, d, base, s->orig_ctx));
        double hi = ceil(yarn_dim(s->beta_slow, d, base, s->orig_ctx));
        if (lo < 0) lo = 0;
        if (hi > d - 1) hi = d - 1;
        if (lo == hi) hi += 0.001;
        for (int i = 0; i < half; i++) {
            double ramp = (i - lo) / (hi - lo);
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            double extra = 1 - ramp;   /* weight of the unscaled (extrapolated) frequency */
            inv[i] = inv[i] / s->factor * (1 - extra) + inv[i] * extra;
        }
        *mscale = s->attn_factor > 0 ? s->attn_factor : s->factor > 1 ? (float)(0.1 * log(s->factor) + 1) : 1;
    }
    if (freq_factors)
        for (int i = 0; i < half; i++) inv[i] /= freq_factors[i];
}

void cl_rope_llama3_factors(float *out, const cl_config *c) {
    int d = c->head_dim;
    for (int i = 0; i < d / 2; i++) out[i] = (float)llama3_divisor(pow(c->rope_theta, -2.0 * i / d), &c->rope_scaling);
}
