/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any input opens or fails
 * cleanly; whatever opens has every tensor inside the buffer with the size its shape needs. */
#include <stdint.h>
#include <stdlib.h>
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_safetensors *st = cl_st_open_mem(data, size, "fuzz");
    if (!st) return 0;
    volatile unsigned sink = 0;
    for (int i = 0; i < cl_st_n_tensors(st); i++) {
        const cl_tensor *t = cl_st_tensor(st, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size) abort();
        if (cl_dtype_bytes(t->dtype, cl_tensor_nelem(t)) != (int64_t)t->nbytes) abort();
        if (cl_st_find(st, t->name) != t) abort();
        int64_t ne = cl_tensor_nelem(t);
        if (ne <= 4096) {
            float *f = malloc((size_t)(ne ? ne : 1) * sizeof *f);
            if (cl_tensor_to_f32(t, f)) abort();
            free(f);
        }
        if (t->nbytes) sink += p[t->nbytes - 1];
    }
    (void)sink;
    cl_st_close(st);
    return 0;
}
