/* safetensors.c — see safetensors.h.  Every tensor's data_offsets must lie inside the data
 * section and span exactly nelem * element size bytes. */
#include "safetensors.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

#define MAX_HEADER (256u << 20) /* a JSON header larger than this is not a real checkpoint */

struct cl_safetensors {
    cl_map map;
    char *name;
    int n;
    cl_tensor *t;
    int *sorted;
};

static int dtype_from(const char *s, cl_dtype *out) {
    if (!strcmp(s, "F32")) *out = CL_F32;
    else if (!strcmp(s, "F16")) *out = CL_F16;
    else if (!strcmp(s, "BF16")) *out = CL_BF16;
    else return -1;
    return 0;
}

static int parse(cl_safetensors *st, const uint8_t *data, size_t size) {
    const char *nm = st->name;
    uint64_t hlen;
    if (size < 8) return cl_fail("%s: offset 0: truncated (%zu bytes, no header length)", nm, size);
    memcpy(&hlen, data, 8);
    if (hlen > size - 8) return cl_fail("%s: offset 0: header length %llu exceeds the file (%zu bytes)", nm,
                                        (unsigned long long)hlen, size);
    if (hlen > MAX_HEADER) return cl_fail("%s: offset 0: header length %llu too large", nm, (unsigned long long)hlen);
    json_error_t je;
    json_t *root = json_loadb((const char *)data + 8, hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root) return cl_fail("%s: offset %lld: header JSON: %s", nm, 8 + (long long)je.position, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        cl_fail("%s: offset 8: header is not a JSON object", nm);
        goto out;
    }
    const uint8_t *base = data + 8 + hlen;
    uint64_t dsize = size - 8 - hlen;
    st->t = cl_calloc(json_object_size(root) + 1, sizeof *st->t);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) continue;
        cl_tensor *t = &st->t[st->n];
        t->name = cl_strdup(key);
        st->n++;
        json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
               *jo = json_object_get(v, "data_offsets");
        if (!json_is_object(v) || !json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) ||
            json_array_size(jo) != 2) {
            cl_fail("%s: tensor %s: entry needs dtype, shape and data_offsets [begin, end]", nm, key);
            goto out;
        }
        if (dtype_from(json_string_value(jd), &t->dtype)) {
            cl_fail("%s: tensor %s: dtype %s unsupported (F32, F16, BF16 are)", nm, key, json_string_value(jd));
            goto out;
        }
        size_t nd = json_array_size(js);
        if (nd > 4) {
            cl_fail("%s: tensor %s: %zu dimensions (at most 4 supported)", nm, key, nd);
            goto out;
        }
        t->ndim = (int)nd;
        int64_t nelem = 1;
        for (size_t d = 0; d < nd; d++) {
            json_t *x = json_array_get(js, d);
            if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                __builtin_mul_overflow(nelem, (int64_t)json_integer_value(x), &nelem)) {
                cl_fail("%s: tensor %s: shape[%zu] invalid", nm, key, d);
                goto out;
            }
            t->shape[d] = json_integer_value(x);
        }
        json_t *jb = json_array_get(jo, 0), *je2 = json_array_get(jo, 1);
        if (!json_is_integer(jb) || !json_is_integer(je2)) {
            cl_fail("%s: tensor %s: data_offsets are not integers", nm, key);
            goto out;
        }
        json_int_t b = json_integer_value(jb), e = json_integer_value(je2);
        if (b < 0 || e < b || (uint64_t)e > dsize) {
            cl_fail("%s: tensor %s: data_offsets [%lld, %lld] outside the %llu data bytes (file offset %llu)", nm, key,
                    (long long)b, (long long)e, (unsigned long long)dsize, (unsigned long long)(8 + hlen));
            goto out;
        }
        int64_t nb = cl_dtype_bytes(t->dtype, nelem);
        if (nb < 0 || nb != (int64_t)(e - b)) {
            cl_fail("%s: tensor %s: data_offsets span %lld bytes but shape and dtype need %lld", nm, key,
                    (long long)(e - b), (long long)nb);
            goto out;
        }
        t->data = base + b;
        t->nbytes = (size_t)nb;
    }
    st->sorted = cl_tensor_index(st->t, st->n, NULL);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

cl_safetensors *cl_st_open_mem(const void *data, size_t size, const char *name) {
    cl_safetensors *st = cl_calloc(1, sizeof *st);
    st->name = cl_strdup(name ? name : "safetensors");
    if (parse(st, data, size)) {
        cl_st_close(st);
        return NULL;
    }
    return st;
}

cl_safetensors *cl_st_open(const char *path) {
    cl_map m;
    if (cl_map_file(path, &m)) return NULL;
    cl_safetensors *st = cl_st_open_mem(m.data, m.size, path);
    if (!st) {
        cl_unmap(&m);
        return NULL;
    }
    st->map = m;
    return st;
}

void cl_st_close(cl_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free((char *)st->t[i].name);
    free(st->t);
    free(st->sorted);
    free(st->name);
    cl_unmap(&st->map);
    free(st);
}

int cl_st_n_tensors(const cl_safetensors *st) { return st->n; }
const cl_tensor *cl_st_tensor(const cl_safetensors *st, int i) { return i >= 0 && i < st->n ? &st->t[i] : NULL; }

const cl_tensor *cl_st_find(const cl_safetensors *st, const char *name) {
    return cl_tensor_index_find(st->t, st->sorted, st->n, name);
}
