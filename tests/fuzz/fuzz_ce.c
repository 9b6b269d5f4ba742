/* fuzz_ce.c — libFuzzer target: the CE record reader over arbitrary bytes must never crash,
 * and whatever it accepts must re-encode to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_ce_reader *r = cl_ce_open_mem(data, size, "fuzz");
    cl_ce_meta m;
    const float *e;
    while (cl_ce_next(r, &m, &e) == 1) {
        size_t raw_size, n;
        const uint8_t *raw = cl_ce_raw(r, &raw_size);
        uint8_t *again;
        /* f16/bf16 NaN payloads need not survive f32 and back bit for bit: check f32 only */
        if (m.dtype == CL_F32 && (n = cl_ce_encode(&m, e, &again)) != 0) {
            if (n != raw_size || memcmp(again, raw, n)) abort();
            free(again);
        }
    }
    cl_ce_close(r);
    return 0;
}
