/* lora.c — shapes of a LoRA adapter (see model.h). */
#include "model.h"

void cl_lora_dims(const cl_config *c, int t, int *in, int *out) {
    int D = c->dim, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim, F = c->ffn_dim;
    switch (t) {
    case CL_LORA_Q: *in = D; *out = q; break;
    case CL_LORA_K: case CL_LORA_V: *in = D; *out = kv; break;
    case CL_LORA_O: *in = q; *out = D; break;
    case CL_LORA_GATE: case CL_LORA_UP: *in = D; *out = F; break;
    default: *in = F; *out = D; break;
    }
}

unsigned cl_lora_targets(const cl_lora *lora, int layer) {
    unsigned m = 0;
    if (lora)
        for (int k = 0; k < CL_LORA_NT; k++)
            if (lora->A[layer][k] && lora->B[layer][k]) m |= 1u << k;
    return m;
}
