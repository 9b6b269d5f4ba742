/* torch_save.c — torch.save's zip format for one 2-D tensor (torch_save.h).  The pickle is
 * written opcode by opcode (Python's pickle protocol 2, as pickletools documents it). */
#include "torch_save.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "util.h"
#include "zip_store.h"

typedef struct {
    char *b;
    size_t len, cap;
} bytes;

static void emit(bytes *o, const void *p, size_t n) { cl_buf_append(&o->b, &o->len, &o->cap, p, n); }

static void op(bytes *o, uint8_t c) { emit(o, &c, 1); }

static void emit_le(bytes *o, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    emit(o, t, (size_t)n);
}

/* GLOBAL 'module\nname\n' */
static void global(bytes *o, const char *module, const char *name) {
    op(o, 'c');
    emit(o, module, strlen(module));
    op(o, '\n');
    emit(o, name, strlen(name));
    op(o, '\n');
}

/* BINUNICODE: 4-byte length and UTF-8 */
static void str(bytes *o, const char *s) {
    op(o, 'X');
    emit_le(o, strlen(s), 4);
    emit(o, s, strlen(s));
}

/* a non-negative int: BININT1, BININT2, BININT (signed 32), or LONG1 with 8 bytes */
static void integer(bytes *o, int64_t v) {
    if (v < 0x100) {
        op(o, 'K');
        emit_le(o, (uint64_t)v, 1);
    } else if (v < 0x10000) {
        op(o, 'M');
        emit_le(o, (uint64_t)v, 2);
    } else if (v < 0x80000000LL) {
        op(o, 'J');
        emit_le(o, (uint64_t)v, 4);
    } else {
        op(o, 0x8a);
        op(o, 8);
        emit_le(o, (uint64_t)v, 8);
    }
}

static const char *storage_class(cl_dtype dt) {
    switch (dt) {
    case CL_F32: return "FloatStorage";
    case CL_BF16: return "BFloat16Storage";
    case CL_F16: return "HalfStorage";
    default: return NULL;
    }
}

uint8_t *cl_torch_pickle_2d(int64_t rows, int64_t cols, cl_dtype dt, size_t *size) {
    bytes o = {0};
    op(&o, 0x80);                                    /* PROTO 2 */
    op(&o, 2);
    global(&o, "torch._utils", "_rebuild_tensor_v2");
    op(&o, '(');                                     /* MARK: the arguments */
    op(&o, '(');                                     /* MARK: the persistent id */
    str(&o, "storage");
    global(&o, "torch", storage_class(dt));
    str(&o, "0");                                    /* the record data/0 */
    str(&o, "cpu");
    integer(&o, rows * cols);
    op(&o, 't');                                     /* TUPLE */
    op(&o, 'Q');                                     /* BINPERSID */
    integer(&o, 0);                                  /* storage offset */
    integer(&o, rows);
    integer(&o, cols);
    op(&o, 0x86);                                    /* TUPLE2: size */
    integer(&o, cols);
    integer(&o, 1);
    op(&o, 0x86);                                    /* TUPLE2: stride */
    op(&o, 0x89);                                    /* NEWFALSE: requires_grad */
    global(&o, "collections", "OrderedDict");
    op(&o, ')');                                     /* EMPTY_TUPLE */
    op(&o, 'R');                                     /* REDUCE: backward hooks */
    op(&o, 't');                                     /* TUPLE */
    op(&o, 'R');                                     /* REDUCE */
    op(&o, '.');                                     /* STOP */
    *size = o.len;
    return (uint8_t *)o.b;
}

uint8_t *cl_torch_save_2d(const float *x, int64_t rows, int64_t cols, cl_dtype dt, size_t *size) {
    if (!storage_class(dt)) return cl_fail("torch.save: dtype %s not supported (f32, bf16, f16)", cl_dtype_name(dt)), NULL;
    size_t n, nbytes, es = dt == CL_F32 ? 4 : 2;
    if (rows <= 0 || cols <= 0) return cl_fail("torch.save: empty tensor"), NULL;
    if (cl_mul_overflow((size_t)rows, (size_t)cols, &n) < 0 || cl_mul_overflow(n, es, &nbytes) < 0 ||
        nbytes > 0xfffffffeu)
        return cl_fail("torch.save: tensor of %lld x %lld too large (4 GiB at most)", (long long)rows,
                       (long long)cols), NULL;
    uint8_t *data = cl_malloc(nbytes + 1);
    uint16_t *h = dt == CL_F32 ? NULL : cl_malloc(n * sizeof *h);
    for (int64_t r = 0; h && r < rows; r++)   /* cl_quantize refuses finite values beyond f16/bf16 */
        if (cl_quantize(dt, x + r * cols, cols, h + r * cols) < 0) {
            free(h), free(data);
            return cl_fail_prefix("torch.save: row %lld", (long long)r), NULL;
        }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        if (h) u = h[i];
        else memcpy(&u, &x[i], 4);
        for (size_t k = 0; k < es; k++) data[i * es + k] = (uint8_t)(u >> (8 * k));
    }
    free(h);
    size_t pkl_len;
    uint8_t *pkl = cl_torch_pickle_2d(rows, cols, dt, &pkl_len);
    cl_zip z;
    cl_zip_init(&z);
    cl_zip_add(&z, "archive/data.pkl", pkl, pkl_len);
    cl_zip_add(&z, "archive/byteorder", "little", 6);
    cl_zip_add(&z, "archive/data/0", data, nbytes);
    cl_zip_add(&z, "archive/version", "3\n", 2);
    cl_zip_add(&z, "archive/.data/version", "3\n", 2);
    free(pkl);
    free(data);
    return cl_zip_finish(&z, size);
}
