/* rope.h — the RoPE inverse frequencies of a config, computed once per model (in double).
 *
 * Pair i of a head (i < head_dim/2) turns by pos * inv[i]; cos and sin are multiplied by mscale.
 *   default: inv[i] = theta^(-2i/head_dim), mscale 1
 *   linear:  inv[i] / factor
 *   llama3:  Meta's Llama 3.1 rule (as HF transformers' _compute_llama3_parameters): frequencies
 *            with wavelength 2 pi/inv above original_ctx/low_freq_factor are divided by factor,
 *            below original_ctx/high_freq_factor kept, in between interpolated smoothly
 *   yarn:    HF transformers' _compute_yarn_parameters (truncated correction range from
 *            beta_fast/beta_slow, linear ramp between interpolation and extrapolation);
 *            mscale = attn_factor, else 0.1 ln(factor) + 1 (factor > 1)
 * freq_factors (GGUF rope_freqs.weight, llama.cpp's form of llama3 scaling), when given, divide
 * inv[i] after the above. */
#ifndef CL_ROPE_H
#define CL_ROPE_H
#include "config.h"

/* inv [head_dim/2]: local = 1 for a config's sliding-window layers (Gemma 3: rope_theta_local,
 * unscaled, no freq_factors), 0 for the others. */
void cl_rope_inv_freq(double *inv, float *mscale, const cl_config *c, int local, const float *freq_factors);
/* llama3 scaling as llama.cpp's rope_freqs.weight: out [head_dim/2] divisors (1 .. factor),
 * so that default frequencies / out equal the llama3 ones. */
void cl_rope_llama3_factors(float *out, const cl_config *c);

#endif
