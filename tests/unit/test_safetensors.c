/* test_safetensors — a hand-written file reads back exactly; every truncation and each corrupted
 * header (dtype, offsets, sizes, JSON) is refused with a message, never a crash. */
#include <stdint.h>
#include <string.h>
#include "safetensors.h"
#include "st_build.h"
#include "t.h"
#include "util.h"

static unsigned char *valid(size_t *len) {
    st_build b;
    st_init(&b);
    float f[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[4] = {0x3C00, 0x4000, 0xC000, 0}, bf[3] = {0x3F80, 0x4000, 0xBF80};
    long long s23[2] = {2, 3}, s4[1] = {4}, s13[2] = {1, 3};
    st_add(&b, "a.f32", "F32", 2, s23, f, sizeof f);
    st_add(&b, "b.f16", "F16", 1, s4, h, sizeof h);
    st_add(&b, "c.bf16", "BF16", 2, s13, bf, sizeof bf);
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(b.hdr, "__metadata__", meta);
    unsigned char *p = st_bytes(&b, len);
    st_free(&b);
    return p;
}

static void test_valid(void) {
    size_t len;
    unsigned char *p = valid(&len);
    cl_safetensors *st = cl_st_open_mem(p, len, "valid");
    if (!OK(st, "valid file opens%s", st ? "" : cl_error())) return;
    OK(cl_st_n_tensors(st) == 3, "3 tensors (__metadata__ skipped)");
    const cl_tensor *a = cl_st_find(st, "a.f32"), *b = cl_st_find(st, "b.f16"), *c = cl_st_find(st, "c.bf16");
    float out[6];
    OK(a && a->dtype == CL_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3 && a->nbytes == 24 &&
           cl_tensor_to_f32(a, out) == 0 && out[5] == 6,
       "f32 tensor");
    OK(b && b->dtype == CL_F16 && cl_tensor_to_f32(b, out) == 0 && out[0] == 1 && out[1] == 2 && out[2] == -2, "f16 tensor");
    OK(c && c->dtype == CL_BF16 && cl_tensor_to_f32(c, out) == 0 && out[0] == 1 && out[2] == -1, "bf16 tensor");
    OK(!cl_st_find(st, "__metadata__") && !cl_st_find(st, "zzz"), "absent names");
    cl_st_close(st);
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) {
        cl_safetensors *t = cl_st_open_mem(p, cut, "cut");
        if (t) all = 0, printf("# truncated at %zu opened\n", cut);
        cl_st_close(t);
    }
    OK(all, "every truncation of the %zu-byte file refused (including each 64-byte boundary)", len);
    free(p);
}

static void bad(const char *what, const char *dtype, long long d0, long long off0, long long off1, const char *expect) {
    st_build b;
    st_init(&b);
    float f[4] = {0};
    long long shape[1] = {d0};
    st_add(&b, "t", dtype, 1, shape, f, sizeof f);
    json_t *o = json_object_get(json_object_get(b.hdr, "t"), "data_offsets");
    json_array_set_new(o, 0, json_integer(off0));
    json_array_set_new(o, 1, json_integer(off1));
    size_t len;
    unsigned char *p = st_bytes(&b, &len);
    cl_safetensors *st = cl_st_open_mem(p, len, "bad");
    OK(!st && strstr(cl_error(), expect), "%s refused: %s", what, st ? "(opened!)" : cl_error());
    cl_st_close(st);
    free(p);
    st_free(&b);
}

static void raw(const char *what, const char *json, long long hlen_override, const char *expect) {
    size_t hl = strlen(json);
    unsigned char *p = malloc(8 + hl + 16);
    unsigned long long v = hlen_override >= 0 ? (unsigned long long)hlen_override : hl;
    memcpy(p, &v, 8);
    memcpy(p + 8, json, hl);
    memset(p + 8 + hl, 0, 16);
    cl_safetensors *st = cl_st_open_mem(p, 8 + hl + 16, "raw");
    OK(!st && strstr(cl_error(), expect), "%s refused: %s", what, st ? "(opened!)" : cl_error());
    cl_st_close(st);
    free(p);
}

static void test_malformed(void) {
    bad("dtype I64", "I64", 2, 0, 16, "I64 unsupported");
    bad("dtype F8_E4M3", "F8_E4M3", 16, 0, 16, "unsupported");
    bad("end past the data", "F32", 4, 0, 17, "outside");
    bad("end before begin", "F32", 4, 8, 4, "outside");
    bad("negative begin", "F32", 4, -4, 12, "outside");
    bad("size != nelem * 4", "F32", 3, 0, 16, "need");
    bad("negative dimension", "F32", -4, 0, 16, "shape");
    raw("header length past EOF", "{}", 1 << 20, "exceeds");
    raw("header length 2^63", "{}", (long long)(1ull << 62), "exceeds");
    raw("invalid JSON", "{\"t\": {\"dtype\": ", -1, "JSON");
    raw("JSON array header", "[1, 2]", -1, "object");
    raw("duplicate keys", "{\"t\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}, "
        "\"t\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}}", -1, "duplicate");
    raw("entry without shape", "{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 0]}}", -1, "shape");
    raw("offsets not integers", "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, \"4\"]}}", -1, "integer");
    raw("5 dimensions", "{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1], \"data_offsets\": [0, 4]}}", -1, "dimensions");
    raw("element count overflow", "{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}}", -1, "shape");
    OK(!cl_st_open("/nonexistent.safetensors") && strstr(cl_error(), "/nonexistent.safetensors"), "missing file named");
}

int main(void) {
    test_valid();
    test_malformed();
    return t_done();
}
