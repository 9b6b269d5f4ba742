/* test_gguf — writer -> reader round trip of every metadata type and dtype; hand-built files
 * checked against the GGUF spec byte layout (ne[0] first, alignment, v2, nested arrays); and a
 * malformed-file set: each truncation and each corrupted field must give an error, never a crash. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "t.h"
#include "util.h"

/* ---- a byte builder for hand-made files ---- */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;
static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) b->p = realloc(b->p, b->cap = (b->n + n) * 2 + 64);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) {
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad(buf *b, size_t a) {
    while (b->n % a) put(b, "", 1);
}

/* A small valid v3 file: 3 kv (one a nested array), 2 tensors (f32 [2,32] and q8_0 [32]). */
static buf small_file(void) {
    buf b = {0};
    u32(&b, 0x46554747);
    u32(&b, 3);
    u64(&b, 2);
    u64(&b, 3);
    str(&b, "general.architecture");
    u32(&b, GGUF_STRING);
    str(&b, "llama");
    str(&b, "nested");
    u32(&b, GGUF_ARRAY);
    u32(&b, GGUF_ARRAY);
    u64(&b, 2);
    u32(&b, GGUF_INT32);
    u64(&b, 2);
    u32(&b, 7);
    u32(&b, 8);
    u32(&b, GGUF_STRING);
    u64(&b, 1);
    str(&b, "x");
    str(&b, "toks");
    u32(&b, GGUF_ARRAY);
    u32(&b, GGUF_STRING);
    u64(&b, 3);
    str(&b, "a");
    str(&b, "");
    str(&b, "\xe2\x96\x81the");
    str(&b, "w");
    u32(&b, 2);
    u64(&b, 32); /* ne[0]: the row length */
    u64(&b, 2);
    u32(&b, CL_F32);
    u64(&b, 0);
    str(&b, "q");
    u32(&b, 1);
    u64(&b, 32);
    u32(&b, CL_Q8_0);
    u64(&b, 256);
    pad(&b, 32);
    for (int i = 0; i < 64; i++) {
        float f = (float)i;
        put(&b, &f, 4);
    }
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)i / 8;
    uint8_t q[34];
    cl_quantize_q8_0(x, 32, q);
    put(&b, q, 34);
    return b;
}

static void test_hand_built(void) {
    buf b = small_file();
    cl_gguf *g = cl_gguf_open_mem(b.p, b.n, "small");
    if (!OK(g, "hand-built v3 file opens%s", g ? "" : cl_error())) return;
    OK(cl_gguf_n_kv(g) == 3 && cl_gguf_n_tensors(g) == 2, "counts");
    const char *a = cl_gguf_get_str(g, "general.architecture");
    OK(a && !strcmp(a, "llama"), "string value");
    int et;
    uint64_t n;
    const void *d;
    OK(cl_gguf_get_arr(g, "nested", &et, &n, &d) == 0 && et == GGUF_ARRAY && n == 2 && !d, "array of arrays: type, count");
    size_t len;
    const char *s2 = cl_gguf_arr_str(g, "toks", 2, &len), *s1 = cl_gguf_arr_str(g, "toks", 1, NULL);
    OK(s2 && len == 6 && !strcmp(s2, "\xe2\x96\x81the") && s1 && !*s1, "string array elements");
    OK(!cl_gguf_arr_str(g, "toks", 3, NULL), "string array index out of range refused");
    const cl_tensor *w = cl_gguf_find_tensor(g, "w");
    OK(w && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 32 && w->nbytes == 256, "dims reversed: ne[0]=32 is the last axis");
    OK(w && ((const float *)w->data)[33] == 33.0f && (size_t)((const uint8_t *)w->data - b.p) % 32 == 0, "data at the aligned data section");
    const cl_tensor *q = cl_gguf_find_tensor(g, "q");
    float y[32];
    if (q) cl_convert_to_f32(q->dtype, q->data, 0, 32, y);
    OK(q && q->dtype == CL_Q8_0 && q->nbytes == 34 && fabsf(y[31] - 31.0f / 8) < 0.02f, "q8_0 tensor");
    OK(!cl_gguf_find_tensor(g, "nope") && cl_gguf_find(g, "nope") < 0, "absent names");
    cl_gguf_close(g);

    /* the same as version 2 */
    b.p[4] = 2;
    g = cl_gguf_open_mem(b.p, b.n, "v2");
    OK(g, "v2 accepted");
    cl_gguf_close(g);
    b.p[4] = 1;
    g = cl_gguf_open_mem(b.p, b.n, "v1");
    OK(!g && strstr(cl_error(), "version"), "v1 refused: %s", cl_error());
    b.p[4] = 3;

    /* truncation anywhere before the end of the last tensor's data is an error */
    int all = 1;
    for (size_t cut = 0; cut < b.n; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, b.p, cut);
        cl_gguf *t = cl_gguf_open_mem(c, cut, "cut");
        if (t) all = 0;
        cl_gguf_close(t);
        free(c);
    }
    OK(all, "every truncation of a %zu-byte file refused", b.n);
    free(b.p);
}

/* Build variants of a file with one field corrupted. */
static int refused(buf *b, const char *what, const char *expect) {
    cl_gguf *g = cl_gguf_open_mem(b->p, b->n, "bad");
    int ok = !g && (!expect || strstr(cl_error(), expect));
    OK(ok, "%s refused: %s", what, g ? "(opened!)" : cl_error());
    cl_gguf_close(g);
    free(b->p);
    return ok;
}

static buf header(uint64_t n_t, uint64_t n_kv) {
    buf b = {0};
    u32(&b, 0x46554747);
    u32(&b, 3);
    u64(&b, n_t);
    u64(&b, n_kv);
    return b;
}

static void test_malformed(void) {
    buf b = header(0, 0);
    b.p[0] = 'X';
    refused(&b, "bad magic", "magic");
    b = header(UINT64_MAX, 0);
    refused(&b, "huge tensor count", "tensor count");
    b = header(0, 1ull << 40);
    refused(&b, "huge kv count", "metadata count");
    b = header(0, 1);
    u64(&b, 1ull << 62);
    put(&b, "abcdefghijklmnopqrstuvwxyz", 26);
    refused(&b, "huge key length", "length");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, GGUF_STRING);
    u64(&b, UINT64_MAX);
    refused(&b, "huge string length", "length");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, GGUF_ARRAY);
    u32(&b, GGUF_UINT32);
    u64(&b, 1ull << 61);
    u32(&b, 0);
    refused(&b, "huge array length", "array");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, GGUF_ARRAY);
    u32(&b, GGUF_STRING);
    u64(&b, 1ull << 40);
    str(&b, "x");
    refused(&b, "huge string-array length", "array");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, 13);
    u32(&b, 0);
    refused(&b, "unknown value type", "type");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, GGUF_ARRAY);
    u32(&b, 99);
    u64(&b, 0);
    refused(&b, "unknown array element type", "type");
    b = header(0, 1);
    str(&b, "k");
    u32(&b, GGUF_ARRAY);
    for (int i = 0; i < 20; i++) u32(&b, GGUF_ARRAY), u64(&b, 1);
    u32(&b, GGUF_INT8);
    u64(&b, 0);
    refused(&b, "arrays nested 20 deep", "nested");
    b = header(0, 2);
    str(&b, "k");
    u32(&b, GGUF_UINT8);
    put(&b, "\1", 1);
    str(&b, "k");
    u32(&b, GGUF_UINT8);
    put(&b, "\2", 1);
    refused(&b, "duplicate key", "duplicate");
    b = header(0, 1);
    str(&b, "b");
    u32(&b, GGUF_BOOL);
    put(&b, "\7", 1);
    refused(&b, "bool value 7", "bool");
    b = header(0, 1);
    str(&b, "general.alignment");
    u32(&b, GGUF_UINT32);
    u32(&b, 48);
    refused(&b, "alignment not a power of two", "alignment");

    /* tensor infos: name, n_dims, dims, type, offset */
    struct { const char *what, *expect; uint32_t nd; uint64_t d0; uint32_t type; uint64_t off; } tc[] = {
        {"n_dims 5", "n_dims", 5, 32, CL_F32, 0},         {"dimension 0", "dimension", 2, 0, CL_F32, 0},
        {"dtype 3 (q4_1)", "type 3", 1, 32, 3, 0},         {"dtype 99", "type 99", 1, 32, 99, 0},
        {"offset past EOF", "past the end", 1, 32, CL_F32, 1 << 20},
        {"offset not aligned", "alignment", 1, 32, CL_F32, 4},
        {"q8_0 row of 33", "multiple of 32", 1, 33, CL_Q8_0, 0},
        {"element count overflow", "dimension", 4, 1ull << 62, CL_F32, 0},
    };
    for (size_t i = 0; i < sizeof tc / sizeof *tc; i++) {
        b = header(1, 0);
        str(&b, "t");
        u32(&b, tc[i].nd);
        for (uint32_t d = 0; d < (tc[i].nd > 4 ? 1 : tc[i].nd); d++) u64(&b, d == 0 ? tc[i].d0 : tc[i].d0);
        u32(&b, tc[i].type);
        u64(&b, tc[i].off);
        pad(&b, 32);
        for (int k = 0; k < 32; k++) u32(&b, 0);
        refused(&b, tc[i].what, tc[i].expect);
    }
    b = header(2, 0);
    for (int k = 0; k < 2; k++) {
        str(&b, "same");
        u32(&b, 1);
        u64(&b, 8);
        u32(&b, CL_F32);
        u64(&b, 0);
    }
    pad(&b, 32);
    for (int k = 0; k < 8; k++) u32(&b, 0);
    refused(&b, "duplicate tensor name", "duplicate");
    OK(!cl_gguf_open("/nonexistent/x.gguf") && strstr(cl_error(), "/nonexistent/x.gguf"), "missing file: %s", cl_error());
}

static void test_roundtrip(void) {
    cl_gguf_writer *w = cl_gguf_writer_new();
    uint8_t vu8 = 200;
    int8_t vi8 = -100;
    uint16_t vu16 = 60000;
    int16_t vi16 = -30000;
    int64_t vi64 = -(1ll << 40);
    double vf64 = -1.25e-300;
    cl_gguf_set_scalar(w, "u8", GGUF_UINT8, &vu8);
    cl_gguf_set_scalar(w, "i8", GGUF_INT8, &vi8);
    cl_gguf_set_scalar(w, "u16", GGUF_UINT16, &vu16);
    cl_gguf_set_scalar(w, "i16", GGUF_INT16, &vi16);
    cl_gguf_set_u32(w, "u32", 4000000000u);
    cl_gguf_set_i32(w, "i32", -2000000000);
    cl_gguf_set_f32(w, "f32", 0.1f);
    cl_gguf_set_bool(w, "bool", 1);
    cl_gguf_set_str(w, "str", "hello \xc3\xa9");
    cl_gguf_set_u64(w, "u64", UINT64_MAX);
    cl_gguf_set_scalar(w, "i64", GGUF_INT64, &vi64);
    cl_gguf_set_scalar(w, "f64", GGUF_FLOAT64, &vf64);
    cl_gguf_set_u32(w, "replaced", 1);
    cl_gguf_set_u32(w, "replaced", 2);
    const char *strs[] = {"<unk>", "", "\xe2\x96\x81h"};
    cl_gguf_set_arr_str(w, "astr", strs, 3);
    int32_t ai[3] = {-1, 0, 7};
    float af[2] = {1.5f, -0.25f};
    cl_gguf_set_arr_i32(w, "ai32", ai, 3);
    cl_gguf_set_arr_f32(w, "af32", af, 2);
    uint64_t au64[2] = {1, UINT64_MAX};
    int8_t ai8[3] = {-1, 2, -3};
    double af64[1] = {3.5};
    cl_gguf_set_arr(w, "au64", GGUF_UINT64, au64, 2);
    cl_gguf_set_arr(w, "ai8", GGUF_INT8, ai8, 3);
    cl_gguf_set_arr(w, "af64", GGUF_FLOAT64, af64, 1);
    cl_gguf_set_arr(w, "aempty", GGUF_UINT16, NULL, 0);
    /* one tensor per dtype; shapes with a non-multiple-of-32 byte size to exercise padding */
    float f[3 * 64];
    for (int i = 0; i < 3 * 64; i++) f[i] = (float)i * 0.5f - 7;
    uint16_t h[3 * 64], bf[3 * 64];
    for (int i = 0; i < 3 * 64; i++) h[i] = cl_f32_to_f16(f[i]), bf[i] = cl_f32_to_bf16(f[i]);
    uint8_t q[6 * 34];
    cl_quantize_q8_0(f, 3 * 64, q);
    int64_t s2[2] = {3, 64}, s1[1] = {5}, s3[3] = {1, 3, 64};
    cl_gguf_add_tensor(w, "t.f32", CL_F32, 1, s1, f);
    cl_gguf_add_tensor(w, "t.f16", CL_F16, 2, s2, h);
    cl_gguf_add_tensor(w, "t.bf16", CL_BF16, 3, s3, bf);
    cl_gguf_add_tensor(w, "t.q8_0", CL_Q8_0, 2, s2, q);
    const char *path = t_tmp("roundtrip.gguf");
    OK(cl_gguf_writer_save(w, path) == 0, "writer saves");
    cl_gguf_writer_free(w);

    cl_gguf *g = cl_gguf_open(path);
    if (!OK(g, "reader opens the written file%s", g ? "" : cl_error())) return;
    int64_t i;
    double d;
    int bv;
    OK(cl_gguf_get_i64(g, "u8", &i) == 0 && i == 200 && cl_gguf_type(g, cl_gguf_find(g, "u8")) == GGUF_UINT8, "uint8");
    OK(cl_gguf_get_i64(g, "i8", &i) == 0 && i == -100, "int8");
    OK(cl_gguf_get_i64(g, "u16", &i) == 0 && i == 60000, "uint16");
    OK(cl_gguf_get_i64(g, "i16", &i) == 0 && i == -30000, "int16");
    OK(cl_gguf_get_i64(g, "u32", &i) == 0 && i == 4000000000ll, "uint32");
    OK(cl_gguf_get_i64(g, "i32", &i) == 0 && i == -2000000000, "int32");
    OK(cl_gguf_get_f64(g, "f32", &d) == 0 && (float)d == 0.1f, "float32");
    OK(cl_gguf_get_bool(g, "bool", &bv) == 0 && bv == 1, "bool");
    const char *sv = cl_gguf_get_str(g, "str");
    OK(sv && !strcmp(sv, "hello \xc3\xa9"), "string");
    OK(cl_gguf_get_i64(g, "u64", &i) < 0, "uint64 beyond int64 refused by get_i64");
    OK(cl_gguf_get_f64(g, "u64", &d) == 0 && d == 18446744073709551615.0, "uint64 as f64");
    OK(cl_gguf_get_i64(g, "i64", &i) == 0 && i == -(1ll << 40), "int64");
    OK(cl_gguf_get_f64(g, "f64", &d) == 0 && d == -1.25e-300, "float64");
    OK(cl_gguf_get_i64(g, "replaced", &i) == 0 && i == 2, "setting a key twice keeps the last value");
    OK(cl_gguf_get_i64(g, "f32", &i) < 0 && cl_gguf_get_bool(g, "u8", &bv) < 0 && !cl_gguf_get_str(g, "u8") &&
           cl_gguf_get_i64(g, "absent", &i) < 0,
       "type mismatches and absent keys fail");
    int et;
    uint64_t n;
    const void *p;
    OK(cl_gguf_get_arr(g, "ai32", &et, &n, &p) == 0 && et == GGUF_INT32 && n == 3 && ((const int32_t *)p)[2] == 7,
       "int32 array");
    OK(cl_gguf_get_arr(g, "af32", &et, &n, &p) == 0 && et == GGUF_FLOAT32 && n == 2 && ((const float *)p)[1] == -0.25f,
       "float32 array");
    OK(cl_gguf_get_arr(g, "au64", &et, &n, &p) == 0 && et == GGUF_UINT64 && ((const uint64_t *)p)[1] == UINT64_MAX, "uint64 array");
    OK(cl_gguf_get_arr(g, "ai8", &et, &n, &p) == 0 && et == GGUF_INT8 && ((const int8_t *)p)[2] == -3, "int8 array");
    OK(cl_gguf_get_arr(g, "af64", &et, &n, &p) == 0 && et == GGUF_FLOAT64 && ((const double *)p)[0] == 3.5, "float64 array");
    OK(cl_gguf_get_arr(g, "aempty", &et, &n, &p) == 0 && et == GGUF_UINT16 && n == 0, "empty array");
    size_t len;
    const char *e0 = cl_gguf_arr_str(g, "astr", 0, &len), *e1 = cl_gguf_arr_str(g, "astr", 1, NULL),
               *e2 = cl_gguf_arr_str(g, "astr", 2, NULL);
    OK(cl_gguf_get_arr(g, "astr", &et, &n, NULL) == 0 && et == GGUF_STRING && n == 3 && e0 && len == 5 &&
           !strcmp(e0, "<unk>") && e1 && !*e1 && e2 && !strcmp(e2, "\xe2\x96\x81h"),
       "string array");
    const cl_tensor *t32 = cl_gguf_find_tensor(g, "t.f32"), *t16 = cl_gguf_find_tensor(g, "t.f16"),
                    *tb = cl_gguf_find_tensor(g, "t.bf16"), *tq = cl_gguf_find_tensor(g, "t.q8_0");
    OK(t32 && t32->ndim == 1 && t32->shape[0] == 5 && !memcmp(t32->data, f, 20), "f32 tensor round trip");
    OK(t16 && t16->ndim == 2 && t16->shape[0] == 3 && t16->shape[1] == 64 && !memcmp(t16->data, h, sizeof h), "f16 tensor round trip");
    OK(tb && tb->ndim == 3 && tb->shape[0] == 1 && tb->shape[1] == 3 && !memcmp(tb->data, bf, sizeof bf), "bf16 tensor round trip");
    OK(tq && tq->dtype == CL_Q8_0 && tq->nbytes == sizeof q && !memcmp(tq->data, q, sizeof q), "q8_0 tensor round trip");
    int aligned = 1;
    for (int k = 0; k < cl_gguf_n_tensors(g); k++) aligned &= ((uintptr_t)cl_gguf_tensor(g, k)->data % 32) == 0;
    OK(aligned, "tensor data 32-byte aligned");
    cl_gguf_close(g);

    w = cl_gguf_writer_new();
    int64_t bad[2] = {2, 33};
    cl_gguf_add_tensor(w, "bad", CL_Q8_0, 2, bad, q);
    OK(cl_gguf_writer_save(w, t_tmp("bad.gguf")) < 0 && strstr(cl_error(), "bad") && access(t_tmp("bad.gguf"), F_OK) != 0,
       "writer refuses a q8_0 row of 33 and leaves no file: %s", cl_error());
    cl_gguf_writer_free(w);
}

int main(void) {
    test_hand_built();
    test_malformed();
    test_roundtrip();
    return t_done();
}
