/* gguf.c — GGUF v2/v3 reader: every byte read is bounds-checked, every count is checked against
 * the bytes left before anything is allocated, and every error names the file and byte offset.
 * Metadata values are copied out (strings NUL-terminated, arrays aligned); tensor data stays in
 * the mapping.  See gguf.h. */
#include "gguf.h"
#include "quant.h"
#include <stdlib.h>
#include <string.h>
#include "util.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define MAX_NEST 8             /* arrays of arrays deeper than this are refused */

typedef struct {
    char *key;
    int type, elem_type; /* elem_type: arrays only */
    uint64_t n;          /* arrays: element count */
    union {
        uint64_t u;
        int64_t i;
        double f;
    } num;                 /* numeric and bool scalars */
    char *str;             /* string scalar, NUL-terminated */
    size_t len;            /* its byte length */
    void *arr;             /* numeric arrays: packed little-endian elements */
    char **strs;           /* string arrays: element pointers into arena */
    size_t *lens;
    char *arena;
} kv_t;

struct cl_gguf {
    cl_map map;
    const uint8_t *data;
    size_t size;
    char *name;
    uint32_t version;
    int n_kv, n_t;
    kv_t *kv;
    cl_tensor *t;
    int *kv_sorted, *t_sorted; /* indices sorted by key / name (uniqueness check, lookup) */
    uint64_t alignment, data_off;
};

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    const char *name;
} rd_t;

static int truncated(rd_t *r, const char *what) {
    return cl_fail("%s: offset %zu: truncated (reading %s, file has %zu bytes)", r->name, r->pos, what, r->size);
}
static int take(rd_t *r, void *out, size_t n, const char *what) {
    if (n > r->size - r->pos) return truncated(r, what);
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return 0;
}
static int rd_u32(rd_t *r, uint32_t *v, const char *what) {
    *v = 0;
    return take(r, v, 4, what);
}
static int rd_u64(rd_t *r, uint64_t *v, const char *what) {
    *v = 0;
    return take(r, v, 8, what);
}
/* A GGUF string: u64 length + bytes (no NUL).  Gives a pointer into the buffer. */
static int rd_str(rd_t *r, const char **s, uint64_t *len, const char *what) {
    size_t at = r->pos;
    if (rd_u64(r, len, what)) return -1;
    if (*len > r->size - r->pos) {
        r->pos = at;
        return cl_fail("%s: offset %zu: %s length %llu exceeds the %zu bytes left", r->name, at, what,
                       (unsigned long long)*len, r->size - r->pos - 8);
    }
    *s = (const char *)r->p + r->pos;
    r->pos += *len;
    return 0;
}

size_t cl_gguf_scalar_size(int type) {
    switch (type) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    }
    return 0;
}
static int type_valid(uint32_t t) { return t <= GGUF_FLOAT64; }

/* Validate and skip one array body (element type already read); used for nested arrays. */
static int skip_array(rd_t *r, uint32_t et, int depth) {
    size_t at = r->pos;
    uint64_t n;
    if (rd_u64(r, &n, "array length")) return -1;
    if (!type_valid(et)) return cl_fail("%s: offset %zu: array element type %u unknown", r->name, at, et);
    if (depth > MAX_NEST) return cl_fail("%s: offset %zu: arrays nested deeper than %d", r->name, at, MAX_NEST);
    if (et == GGUF_STRING || et == GGUF_ARRAY) {
        /* each element takes at least 8 bytes: refuse absurd counts before looping */
        if (n > (r->size - r->pos) / 8)
            return cl_fail("%s: offset %zu: array length %llu exceeds the bytes left", r->name, at, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            if (et == GGUF_STRING) {
                const char *s;
                uint64_t len;
                if (rd_str(r, &s, &len, "string in array")) return -1;
            } else {
                uint32_t inner;
                size_t ia = r->pos;
                if (rd_u32(r, &inner, "nested array type")) return -1;
                if (!type_valid(inner)) return cl_fail("%s: offset %zu: array element type %u unknown", r->name, ia, inner);
                if (skip_array(r, inner, depth + 1)) return -1;
            }
        }
        return 0;
    }
    size_t es = cl_gguf_scalar_size((int)et);
    if (n > (r->size - r->pos) / es)
        return cl_fail("%s: offset %zu: array of %llu %zu-byte elements exceeds the %zu bytes left", r->name, at,
                       (unsigned long long)n, es, r->size - r->pos);
    r->pos += n * es;
    return 0;
}

static int read_value(rd_t *r, kv_t *kv) {
    size_t at = r->pos;
    switch (kv->type) {
    case GGUF_STRING: {
        const char *s;
        uint64_t len;
        if (rd_str(r, &s, &len, "string value")) return -1;
        kv->str = cl_strndup(s, len);
        kv->len = len;
        return 0;
    }
    case GGUF_ARRAY: {
        uint32_t et;
        if (rd_u32(r, &et, "array type")) return -1;
        if (!type_valid(et)) return cl_fail("%s: offset %zu: array element type %u unknown", r->name, at, et);
        kv->elem_type = (int)et;
        size_t body = r->pos;
        if (skip_array(r, et, 1)) return -1; /* validates everything; then copy */
        memcpy(&kv->n, r->p + body, 8);
        const uint8_t *el = r->p + body + 8;
        if (et == GGUF_STRING) {
            size_t total = r->pos - body - 8; /* lengths (8 each) + bytes >= bytes + NULs */
            kv->arena = cl_malloc(total + 1);
            kv->strs = cl_malloc((kv->n ? kv->n : 1) * sizeof *kv->strs);
            kv->lens = cl_malloc((kv->n ? kv->n : 1) * sizeof *kv->lens);
            char *o = kv->arena;
            for (uint64_t i = 0; i < kv->n; i++) {
                uint64_t len;
                memcpy(&len, el, 8);
                memcpy(o, el + 8, len);
                o[len] = 0;
                kv->strs[i] = o;
                kv->lens[i] = len;
                o += len + 1;
                el += 8 + len;
            }
        } else if (et != GGUF_ARRAY) {
            size_t nb = kv->n * cl_gguf_scalar_size((int)et);
            kv->arr = cl_malloc(nb ? nb : 1);
            memcpy(kv->arr, el, nb);
            if (et == GGUF_BOOL)
                for (size_t i = 0; i < nb; i++)
                    if (((uint8_t *)kv->arr)[i] > 1)
                        return cl_fail("%s: offset %zu: bool array element %zu is %u, not 0 or 1", r->name,
                                       body + 8 + i, i, ((uint8_t *)kv->arr)[i]);
        }
        return 0;
    }
    default: {
        size_t n = cl_gguf_scalar_size(kv->type);
        uint8_t b[8];
        if (take(r, b, n, "scalar value")) return -1;
        switch (kv->type) {
        case GGUF_UINT8: kv->num.u = b[0]; break;
        case GGUF_INT8: kv->num.i = (int8_t)b[0]; break;
        case GGUF_BOOL:
            if (b[0] > 1) return cl_fail("%s: offset %zu: bool value %u is not 0 or 1", r->name, at, b[0]);
            kv->num.u = b[0];
            break;
        case GGUF_UINT16: { uint16_t v; memcpy(&v, b, 2); kv->num.u = v; break; }
        case GGUF_INT16: { int16_t v; memcpy(&v, b, 2); kv->num.i = v; break; }
        case GGUF_UINT32: { uint32_t v; memcpy(&v, b, 4); kv->num.u = v; break; }
        case GGUF_INT32: { int32_t v; memcpy(&v, b, 4); kv->num.i = v; break; }
        case GGUF_FLOAT32: { float v; memcpy(&v, b, 4); kv->num.f = v; break; }
        case GGUF_UINT64: memcpy(&kv->num.u, b, 8); break;
        case GGUF_INT64: memcpy(&kv->num.i, b, 8); break;
        case GGUF_FLOAT64: memcpy(&kv->num.f, b, 8); break;
        }
        return 0;
    }
    }
}

static int cmp_kv(const void *a, const void *b, void *ctx) {
    const cl_gguf *g = ctx;
    return strcmp(g->kv[*(const int *)a].key, g->kv[*(const int *)b].key);
}

static int parse(cl_gguf *g) {
    rd_t r = {g->data, g->size, 0, g->name};
    uint32_t magic;
    uint64_t n_t, n_kv;
    if (g->size < 4 || (memcpy(&magic, g->data, 4), magic != GGUF_MAGIC))
        return cl_fail("%s: offset 0: not a GGUF file (bad magic)", g->name);
    r.pos = 4;
    if (rd_u32(&r, &g->version, "version")) return -1;
    if (g->version != 2 && g->version != 3)
        return cl_fail("%s: offset 4: GGUF version %u unsupported (2 and 3 are)", g->name, g->version);
    if (rd_u64(&r, &n_t, "tensor count") || rd_u64(&r, &n_kv, "metadata count")) return -1;
    /* a key/value takes >= 13 bytes and a tensor info >= 28: bound the counts by the file size */
    if (n_kv > (r.size - r.pos) / 13 || n_kv > (1u << 24))
        return cl_fail("%s: offset 16: metadata count %llu impossible for a %zu-byte file", g->name,
                       (unsigned long long)n_kv, g->size);
    if (n_t > (r.size - r.pos) / 28 || n_t > (1u << 24))
        return cl_fail("%s: offset 8: tensor count %llu impossible for a %zu-byte file", g->name,
                       (unsigned long long)n_t, g->size);
    g->kv = cl_calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->alignment = 32;
    for (uint64_t i = 0; i < n_kv; i++) {
        kv_t *kv = &g->kv[i];
        size_t at = r.pos;
        const char *k;
        uint64_t klen;
        uint32_t type;
        if (rd_str(&r, &k, &klen, "key")) return -1;
        if (memchr(k, 0, klen)) return cl_fail("%s: offset %zu: key contains a NUL byte", g->name, at);
        kv->key = cl_strndup(k, klen);
        g->n_kv = (int)i + 1;
        size_t tat = r.pos;
        if (rd_u32(&r, &type, "value type")) return -1;
        if (!type_valid(type)) return cl_fail("%s: offset %zu: key %s: value type %u unknown", g->name, tat, kv->key, type);
        kv->type = (int)type;
        if (read_value(&r, kv)) return -1;
        if (!strcmp(kv->key, "general.alignment")) {
            if (kv->type != GGUF_UINT32 || kv->num.u == 0 || (kv->num.u & (kv->num.u - 1)))
                return cl_fail("%s: offset %zu: general.alignment must be a power-of-two uint32", g->name, at);
            g->alignment = kv->num.u;
        }
    }
    g->kv_sorted = cl_malloc((g->n_kv ? g->n_kv : 1) * sizeof(int));
    for (int i = 0; i < g->n_kv; i++) g->kv_sorted[i] = i;
    qsort_r(g->kv_sorted, (size_t)g->n_kv, sizeof(int), cmp_kv, g);
    for (int i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kv[g->kv_sorted[i]].key, g->kv[g->kv_sorted[i - 1]].key))
            return cl_fail("%s: duplicate key %s", g->name, g->kv[g->kv_sorted[i]].key);

    g->t = cl_calloc(n_t ? n_t : 1, sizeof *g->t);
    uint64_t *offs = cl_calloc(n_t ? n_t : 1, sizeof *offs);
    size_t *at_t = cl_calloc(n_t ? n_t : 1, sizeof *at_t);
    int rc = -1;
    for (uint64_t i = 0; i < n_t; i++) {
        cl_tensor *t = &g->t[i];
        size_t at = at_t[i] = r.pos;
        const char *s;
        uint64_t len;
        uint32_t nd, type;
        if (rd_str(&r, &s, &len, "tensor name")) goto out;
        if (memchr(s, 0, len)) { cl_fail("%s: offset %zu: tensor name contains a NUL byte", g->name, at); goto out; }
        t->name = cl_strndup(s, len);
        g->n_t = (int)i + 1;
        size_t dat = r.pos;
        if (rd_u32(&r, &nd, "tensor n_dims")) goto out;
        if (nd < 1 || nd > 4) { cl_fail("%s: offset %zu: tensor %s: n_dims %u not in 1..4", g->name, dat, t->name, nd); goto out; }
        t->ndim = (int)nd;
        int64_t nelem = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne;
            if (rd_u64(&r, &ne, "tensor dimension")) goto out;
            if (ne < 1 || ne > (uint64_t)INT64_MAX || __builtin_mul_overflow(nelem, (int64_t)ne, &nelem)) {
                cl_fail("%s: offset %zu: tensor %s: dimension %u = %llu invalid", g->name, r.pos - 8, t->name, d,
                        (unsigned long long)ne);
                goto out;
            }
            t->shape[nd - 1 - d] = (int64_t)ne; /* GGUF lists ne[0] (innermost) first */
        }
        size_t tat = r.pos;
        if (rd_u32(&r, &type, "tensor type")) goto out;
        if (!cl_dtype_valid((int)type)) {
            cl_fail("%s: offset %zu: tensor %s: type %u unsupported (f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K are)", g->name, tat, t->name, type);
            goto out;
        }
        t->dtype = (cl_dtype)type;
        if (t->shape[nd - 1] % cl_dtype_block(t->dtype)) {
            cl_fail("%s: offset %zu: tensor %s: %s row length %lld is not a multiple of %d", g->name, dat, t->name,
                    cl_dtype_name(t->dtype), (long long)t->shape[nd - 1], cl_dtype_block(t->dtype));
            goto out;
        }
        int64_t nb = cl_dtype_bytes(t->dtype, nelem);
        if (nb < 0) { cl_fail_prefix("%s: offset %zu: tensor %s", g->name, dat, t->name); goto out; }
        t->nbytes = (size_t)nb;
        if (rd_u64(&r, &offs[i], "tensor offset")) goto out;
        if (offs[i] % g->alignment) {
            cl_fail("%s: offset %zu: tensor %s: data offset %llu not a multiple of the alignment %llu", g->name, r.pos - 8,
                    t->name, (unsigned long long)offs[i], (unsigned long long)g->alignment);
            goto out;
        }
    }
    g->data_off = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
    for (int i = 0; i < g->n_t; i++) {
        cl_tensor *t = &g->t[i];
        if (g->data_off > g->size || offs[i] > g->size - g->data_off || t->nbytes > g->size - g->data_off - offs[i]) {
            cl_fail("%s: offset %zu: tensor %s: data [%llu, +%zu) past the end of the file (%zu bytes)", g->name,
                    at_t[i], t->name, (unsigned long long)(g->data_off + offs[i]), t->nbytes, g->size);
            goto out;
        }
        t->data = g->data + g->data_off + offs[i];
    }
    int dup;
    g->t_sorted = cl_tensor_index(g->t, g->n_t, &dup);
    if (dup >= 0) {
        cl_fail("%s: offset %zu: duplicate tensor %s", g->name, at_t[dup], g->t[dup].name);
        goto out;
    }
    rc = 0;
out:
    free(offs);
    free(at_t);
    return rc;
}

cl_gguf *cl_gguf_open_mem(const void *data, size_t size, const char *name) {
    cl_gguf *g = cl_calloc(1, sizeof *g);
    g->data = data;
    g->size = size;
    g->name = cl_strdup(name ? name : "gguf");
    if (parse(g)) {
        cl_gguf_close(g);
        return NULL;
    }
    return g;
}

cl_gguf *cl_gguf_open(const char *path) {
    cl_map m;
    if (cl_map_file(path, &m)) return NULL;
    cl_gguf *g = cl_gguf_open_mem(m.data, m.size, path);
    if (!g) {
        cl_unmap(&m);
        return NULL;
    }
    g->map = m;
    return g;
}

void cl_gguf_close(cl_gguf *g) {
    if (!g) return;
    for (int i = 0; i < g->n_kv; i++) {
        kv_t *kv = &g->kv[i];
        free(kv->key);
        free(kv->str);
        free(kv->arr);
        free(kv->strs);
        free(kv->lens);
        free(kv->arena);
    }
    for (int i = 0; i < g->n_t; i++) free((char *)g->t[i].name);
    free(g->kv);
    free(g->t);
    free(g->kv_sorted);
    free(g->t_sorted);
    free(g->name);
    cl_unmap(&g->map);
    free(g);
}

int cl_gguf_n_kv(const cl_gguf *g) { return g->n_kv; }
const char *cl_gguf_key(const cl_gguf *g, int i) { return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL; }
int cl_gguf_type(const cl_gguf *g, int i) { return i >= 0 && i < g->n_kv ? g->kv[i].type : -1; }

int cl_gguf_find(const cl_gguf *g, const char *key) {
    int lo = 0, hi = g->n_kv - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(key, g->kv[g->kv_sorted[mid]].key);
        if (!c) return g->kv_sorted[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

static const kv_t *get(const cl_gguf *g, const char *key) {
    int i = cl_gguf_find(g, key);
    if (i < 0) {
        cl_fail("%s: key %s absent", g->name, key);
        return NULL;
    }
    return &g->kv[i];
}

static int is_signed(int t) { return t == GGUF_INT8 || t == GGUF_INT16 || t == GGUF_INT32 || t == GGUF_INT64; }
static int is_unsigned(int t) { return t == GGUF_UINT8 || t == GGUF_UINT16 || t == GGUF_UINT32 || t == GGUF_UINT64; }

int cl_gguf_get_i64(const cl_gguf *g, const char *key, int64_t *out) {
    const kv_t *kv = get(g, key);
    if (!kv) return -1;
    if (is_signed(kv->type)) *out = kv->num.i;
    else if (is_unsigned(kv->type)) {
        if (kv->num.u > (uint64_t)INT64_MAX) return cl_fail("%s: key %s: value too large", g->name, key);
        *out = (int64_t)kv->num.u;
    } else return cl_fail("%s: key %s: not an integer", g->name, key);
    return 0;
}

int cl_gguf_get_f64(const cl_gguf *g, const char *key, double *out) {
    const kv_t *kv = get(g, key);
    if (!kv) return -1;
    if (kv->type == GGUF_FLOAT32 || kv->type == GGUF_FLOAT64) *out = kv->num.f;
    else if (is_signed(kv->type)) *out = (double)kv->num.i;
    else if (is_unsigned(kv->type)) *out = (double)kv->num.u;
    else return cl_fail("%s: key %s: not a number", g->name, key);
    return 0;
}

int cl_gguf_get_bool(const cl_gguf *g, const char *key, int *out) {
    const kv_t *kv = get(g, key);
    if (!kv) return -1;
    if (kv->type != GGUF_BOOL) return cl_fail("%s: key %s: not a bool", g->name, key);
    *out = (int)kv->num.u;
    return 0;
}

const char *cl_gguf_get_str(const cl_gguf *g, const char *key) {
    const kv_t *kv = get(g, key);
    if (!kv) return NULL;
    if (kv->type != GGUF_STRING) {
        cl_fail("%s: key %s: not a string", g->name, key);
        return NULL;
    }
    return kv->str;
}

int cl_gguf_get_arr(const cl_gguf *g, const char *key, int *elem_type, uint64_t *n, const void **data) {
    const kv_t *kv = get(g, key);
    if (!kv) return -1;
    if (kv->type != GGUF_ARRAY) return cl_fail("%s: key %s: not an array", g->name, key);
    if (elem_type) *elem_type = kv->elem_type;
    if (n) *n = kv->n;
    if (data) *data = kv->arr;
    return 0;
}

const char *cl_gguf_arr_str(const cl_gguf *g, const char *key, uint64_t i, size_t *len) {
    const kv_t *kv = get(g, key);
    if (!kv) return NULL;
    if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING) {
        cl_fail("%s: key %s: not a string array", g->name, key);
        return NULL;
    }
    if (i >= kv->n) {
        cl_fail("%s: key %s: index %llu out of range (%llu elements)", g->name, key, (unsigned long long)i,
                (unsigned long long)kv->n);
        return NULL;
    }
    if (len) *len = kv->lens[i];
    return kv->strs[i];
}

int cl_gguf_n_tensors(const cl_gguf *g) { return g->n_t; }
const cl_tensor *cl_gguf_tensor(const cl_gguf *g, int i) { return i >= 0 && i < g->n_t ? &g->t[i] : NULL; }

const cl_tensor *cl_gguf_find_tensor(const cl_gguf *g, const char *name) {
    return cl_tensor_index_find(g->t, g->t_sorted, g->n_t, name);
}
