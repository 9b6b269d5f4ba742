/* fuzz_gguf.c — libFuzzer target for the GGUF reader: any input opens or fails cleanly; whatever
 * opens must be readable end to end (every key through every getter, every tensor's bytes). */
#include <stdint.h>
#include <stdlib.h>
#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_gguf *g = cl_gguf_open_mem(data, size, "fuzz");
    if (!g) return 0;
    volatile uint64_t sink = 0;
    for (int i = 0; i < cl_gguf_n_kv(g); i++) {
        const char *k = cl_gguf_key(g, i);
        if (cl_gguf_find(g, k) != i) abort(); /* keys are unique */
        int64_t v;
        double d;
        int b, et;
        uint64_t n;
        const void *p;
        if (cl_gguf_get_i64(g, k, &v) == 0) sink += (uint64_t)v;
        if (cl_gguf_get_f64(g, k, &d) == 0) sink += (uint64_t)(d == d);
        if (cl_gguf_get_bool(g, k, &b) == 0) sink += (uint64_t)b;
        const char *s = cl_gguf_get_str(g, k);
        if (s) sink += (uint64_t)s[0];
        if (cl_gguf_get_arr(g, k, &et, &n, &p) == 0) {
            if (et == GGUF_STRING)
                for (uint64_t j = 0; j < n; j++) {
                    size_t len;
                    const char *e = cl_gguf_arr_str(g, k, j, &len);
                    if (!e) abort();
                    if (len) sink += (uint64_t)e[len - 1];
                }
            else if (p && n) sink += ((const uint8_t *)p)[0];
        }
    }
    for (int i = 0; i < cl_gguf_n_tensors(g); i++) {
        const cl_tensor *t = cl_gguf_tensor(g, i);
        if (cl_gguf_find_tensor(g, t->name) != t) abort();
        if (t->nbytes) sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        int64_t ne = cl_tensor_nelem(t);
        if (ne <= 4096) {
            float *f = malloc((size_t)ne * sizeof *f);
            if (cl_tensor_to_f32(t, f)) abort();
            free(f);
        }
    }
    (void)sink;
    cl_gguf_close(g);
    return 0;
}
