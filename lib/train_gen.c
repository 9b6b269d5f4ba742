/* train_gen.c — prefix continuation with the KV cache (see train_gen.h). */
#include "train_gen.h"
#include <stdlib.h>
#include "util.h"

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

int tr_generate(const cl_model *m, const int32_t *pre_ids, const float *pre_embd, int n_pre,
                int max_new, cl_sampler *sampler, int stop_eos, int32_t *out) {
    int V = m->cfg.n_vocab;
    if (n_pre < 1) return cl_fail("generate: empty prefix");
    cl_kv *kv = cl_kv_new(m, n_pre + max_new + 1);
    if (!kv) return -1;
    float *logits = cl_malloc((size_t)V * sizeof(float));
    cl_batch b = {.n_tokens = n_pre, .ids = pre_ids, .embd = pre_embd, .logits = logits};
    int n = 0, rc = 0;
    if (cl_forward(m, kv, &b)) rc = -1;
    while (rc == 0 && n < max_new) {
        int32_t t = sampler ? cl_sample(sampler, logits, V) : argmax(logits, V);
        if (stop_eos && t == m->cfg.eos_id) break;
        out[n++] = t;
        if (n == max_new) break;
        cl_batch s = {.n_tokens = 1, .ids = &t, .logits = logits};
        if (cl_forward(m, kv, &s)) rc = -1;
    }
    free(logits);
    cl_kv_free(kv);
    return rc ? -1 : n;
}
