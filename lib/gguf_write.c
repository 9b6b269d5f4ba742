/* gguf_write.c — GGUF v3 writer: metadata and tensors collected in memory (or produced by a
 * callback at save time), written atomically with the default alignment of 32.  See gguf.h. */
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "quant.h"
#include "util.h"

#define ALIGN 32

typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *d, size_t n) { cl_buf_append(&b->p, &b->n, &b->cap, d, n); }
static void put_u32(buf_t *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf_t *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf_t *b, const char *s, size_t len) {
    put_u64(b, len);
    put(b, s, len);
}

typedef struct {
    char *key;
    buf_t val; /* type (u32) + serialized value */
} wkv_t;

typedef struct {
    char *name;
    cl_dtype dtype;
    int ndim;
    int64_t shape[4];
    size_t nbytes;
    void *data;          /* copied data, or NULL with fill */
    cl_gguf_fill_fn fill;
    void *ctx;
} wt_t;

struct cl_gguf_writer {
    wkv_t *kv;
    int n_kv, cap_kv;
    wt_t *t;
    int n_t, cap_t;
    char *err; /* first error of a setter, reported by save */
};

cl_gguf_writer *cl_gguf_writer_new(void) { return cl_calloc(1, sizeof(cl_gguf_writer)); }

void cl_gguf_writer_free(cl_gguf_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val.p);
    }
    for (int i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w->err);
    free(w);
}

static void set_err(cl_gguf_writer *w, const char *msg) {
    if (!w->err) w->err = cl_strdup(msg);
}

/* The value buffer of key, emptied (an existing key is overwritten in place). */
static buf_t *slot(cl_gguf_writer *w, const char *key, int type) {
    wkv_t *kv = NULL;
    for (int i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) kv = &w->kv[i];
    if (!kv) {
        if (w->n_kv == w->cap_kv) w->kv = cl_realloc(w->kv, (size_t)(w->cap_kv = w->cap_kv * 2 + 16) * sizeof *w->kv);
        kv = &w->kv[w->n_kv++];
        memset(kv, 0, sizeof *kv);
        kv->key = cl_strdup(key);
    }
    kv->val.n = 0;
    put_u32(&kv->val, (uint32_t)type);
    return &kv->val;
}

void cl_gguf_set_scalar(cl_gguf_writer *w, const char *key, int type, const void *value) {
    if (type == GGUF_BOOL) {
        uint8_t b = *(const int *)value != 0;
        put(slot(w, key, type), &b, 1);
        return;
    }
    size_t n = cl_gguf_scalar_size(type);
    if (!n) {
        set_err(w, "cl_gguf_set_scalar: not a numeric type");
        return;
    }
    put(slot(w, key, type), value, n);
}

void cl_gguf_set_u32(cl_gguf_writer *w, const char *key, uint32_t v) { cl_gguf_set_scalar(w, key, GGUF_UINT32, &v); }
void cl_gguf_set_i32(cl_gguf_writer *w, const char *key, int32_t v) { cl_gguf_set_scalar(w, key, GGUF_INT32, &v); }
void cl_gguf_set_u64(cl_gguf_writer *w, const char *key, uint64_t v) { cl_gguf_set_scalar(w, key, GGUF_UINT64, &v); }
void cl_gguf_set_f32(cl_gguf_writer *w, const char *key, float v) { cl_gguf_set_scalar(w, key, GGUF_FLOAT32, &v); }
void cl_gguf_set_bool(cl_gguf_writer *w, const char *key, int v) { cl_gguf_set_scalar(w, key, GGUF_BOOL, &v); }

void cl_gguf_set_str(cl_gguf_writer *w, const char *key, const char *v) {
    put_str(slot(w, key, GGUF_STRING), v, strlen(v));
}

void cl_gguf_set_arr(cl_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n) {
    size_t es = cl_gguf_scalar_size(elem_type);
    if (!es) {
        set_err(w, "cl_gguf_set_arr: not a numeric element type");
        return;
    }
    buf_t *b = slot(w, key, GGUF_ARRAY);
    put_u32(b, (uint32_t)elem_type);
    put_u64(b, n);
    put(b, data, (size_t)n * es);
}

void cl_gguf_set_arr_str(cl_gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    buf_t *b = slot(w, key, GGUF_ARRAY);
    put_u32(b, GGUF_STRING);
    put_u64(b, n);
    for (uint64_t i = 0; i < n; i++) put_str(b, v[i], strlen(v[i]));
}

void cl_gguf_set_arr_i32(cl_gguf_writer *w, const char *key, const int32_t *v, uint64_t n) {
    cl_gguf_set_arr(w, key, GGUF_INT32, v, n);
}
void cl_gguf_set_arr_f32(cl_gguf_writer *w, const char *key, const float *v, uint64_t n) {
    cl_gguf_set_arr(w, key, GGUF_FLOAT32, v, n);
}

static wt_t *new_tensor(cl_gguf_writer *w, const char *name, cl_dtype dtype, int ndim, const int64_t *shape) {
    char msg[512];
    for (int i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) {
            snprintf(msg, sizeof msg, "tensor %s added twice", name);
            set_err(w, msg);
            return NULL;
        }
    int64_t n = 1;
    int bad = ndim < 1 || ndim > 4 || !cl_dtype_valid((int)dtype);
    for (int d = 0; !bad && d < ndim; d++)
        bad = shape[d] < 1 || __builtin_mul_overflow(n, shape[d], &n);
    if (!bad && shape[ndim - 1] % cl_dtype_block(dtype)) bad = 1;
    int64_t nb = bad ? -1 : cl_dtype_bytes(dtype, n);
    if (nb < 0) {
        snprintf(msg, sizeof msg, "tensor %s: invalid dtype or shape for %s", name, cl_dtype_name(dtype));
        set_err(w, msg);
        return NULL;
    }
    if (w->n_t == w->cap_t) w->t = cl_realloc(w->t, (size_t)(w->cap_t = w->cap_t * 2 + 16) * sizeof *w->t);
    wt_t *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    t->name = cl_strdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = (size_t)nb;
    return t;
}

void cl_gguf_add_tensor(cl_gguf_writer *w, const char *name, cl_dtype dtype, int ndim, const int64_t *shape,
                        const void *data) {
    wt_t *t = new_tensor(w, name, dtype, ndim, shape);
    if (!t) return;
    t->data = cl_malloc(t->nbytes ? t->nbytes : 1);
    memcpy(t->data, data, t->nbytes);
}

void cl_gguf_add_tensor_fill(cl_gguf_writer *w, const char *name, cl_dtype dtype, int ndim, const int64_t *shape,
                             cl_gguf_fill_fn fill, void *ctx) {
    wt_t *t = new_tensor(w, name, dtype, ndim, shape);
    if (!t) return;
    t->fill = fill;
    t->ctx = ctx;
}

static size_t pad_to(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

int cl_gguf_writer_save(cl_gguf_writer *w, const char *path) {
    if (w->err) return cl_fail("%s: %s", path, w->err);
    buf_t h = {0};
    put_u32(&h, 0x46554747u);
    put_u32(&h, 3);
    put_u64(&h, (uint64_t)w->n_t);
    put_u64(&h, (uint64_t)w->n_kv);
    for (int i = 0; i < w->n_kv; i++) {
        put_str(&h, w->kv[i].key, strlen(w->kv[i].key));
        put(&h, w->kv[i].val.p, w->kv[i].val.n);
    }
    size_t off = 0;
    for (int i = 0; i < w->n_t; i++) {
        wt_t *t = &w->t[i];
        put_str(&h, t->name, strlen(t->name));
        put_u32(&h, (uint32_t)t->ndim);
        for (int d = t->ndim - 1; d >= 0; d--) put_u64(&h, (uint64_t)t->shape[d]); /* ne[0] first */
        put_u32(&h, (uint32_t)t->dtype);
        put_u64(&h, off);
        off = pad_to(off + t->nbytes);
    }
    static const uint8_t zeros[ALIGN];
    put(&h, zeros, pad_to(h.n) - h.n);

    cl_atomic a;
    if (cl_atomic_open(&a, path)) {
        free(h.p);
        return -1;
    }
    int rc = cl_atomic_write(&a, h.p, h.n);
    free(h.p);
    for (int i = 0; rc == 0 && i < w->n_t; i++) {
        wt_t *t = &w->t[i];
        void *data = t->data;
        if (t->fill) {
            data = cl_malloc(t->nbytes ? t->nbytes : 1);
            if (t->fill(t->ctx, t->name, data, t->nbytes)) rc = cl_fail_prefix("%s: tensor %s", path, t->name);
        }
        if (rc == 0) rc = cl_atomic_write(&a, data, t->nbytes);
        if (rc == 0) rc = cl_atomic_write(&a, zeros, pad_to(t->nbytes) - t->nbytes);
        if (t->fill) free(data);
    }
    if (rc) {
        cl_atomic_abort(&a);
        return -1;
    }
    return cl_atomic_commit(&a);
}
