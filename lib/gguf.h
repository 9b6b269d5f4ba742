/* gguf.h — GGUF v2/v3 reader (mmap, fully validated) and writer. */
#ifndef CL_GGUF_H
#define CL_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

enum {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3, GGUF_UINT32 = 4, GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10,
    GGUF_INT64 = 11, GGUF_FLOAT64 = 12
};

/* Bytes of one value of a fixed-size GGUF_* type; 0 for strings, arrays and unknown types. */
size_t cl_gguf_scalar_size(int type);

typedef struct cl_gguf cl_gguf;

/* Open and validate: header, every key/value, tensor infos (dtype, shape, offset+size within the
 * file, alignment).  Errors name the file, the byte offset and what was wrong. */
cl_gguf *cl_gguf_open(const char *path);
/* Same over a caller-owned buffer (fuzzing, tests); data must outlive the handle. */
cl_gguf *cl_gguf_open_mem(const void *data, size_t size, const char *name);
void cl_gguf_close(cl_gguf *g);

int cl_gguf_n_kv(const cl_gguf *g);
const char *cl_gguf_key(const cl_gguf *g, int i);
int cl_gguf_find(const cl_gguf *g, const char *key);     /* index or -1 */
int cl_gguf_type(const cl_gguf *g, int i);               /* GGUF_* */
/* Scalars: any integer type converts to the requested one when the value fits; -1 otherwise. */
int cl_gguf_get_i64(const cl_gguf *g, const char *key, int64_t *out);
int cl_gguf_get_f64(const cl_gguf *g, const char *key, double *out);  /* floats or integers */
int cl_gguf_get_bool(const cl_gguf *g, const char *key, int *out);
const char *cl_gguf_get_str(const cl_gguf *g, const char *key);       /* NUL-terminated copy, or NULL */
/* All getters fail (-1 / NULL, with cl_fail) when the key is absent or has another type. */
/* Arrays: element type and count; numeric arrays give a pointer to packed little-endian data
 * (a copy owned by the handle, aligned for its type); string arrays and arrays of arrays give
 * data = NULL (arrays of arrays are validated but their contents are not exposed). */
int cl_gguf_get_arr(const cl_gguf *g, const char *key, int *elem_type, uint64_t *n, const void **data);
/* Element i of a string array (NUL-terminated; len gets the byte length, strings may hold NULs). */
const char *cl_gguf_arr_str(const cl_gguf *g, const char *key, uint64_t i, size_t *len);

int cl_gguf_n_tensors(const cl_gguf *g);
const cl_tensor *cl_gguf_tensor(const cl_gguf *g, int i);
const cl_tensor *cl_gguf_find_tensor(const cl_gguf *g, const char *name);

/* ---- writer: collect metadata and tensors, then save atomically (temp file + rename). ---- */
typedef struct cl_gguf_writer cl_gguf_writer;
cl_gguf_writer *cl_gguf_writer_new(void);
void cl_gguf_writer_free(cl_gguf_writer *w);
void cl_gguf_set_u32(cl_gguf_writer *w, const char *key, uint32_t v);
void cl_gguf_set_i32(cl_gguf_writer *w, const char *key, int32_t v);
void cl_gguf_set_u64(cl_gguf_writer *w, const char *key, uint64_t v);
void cl_gguf_set_f32(cl_gguf_writer *w, const char *key, float v);
void cl_gguf_set_bool(cl_gguf_writer *w, const char *key, int v);
void cl_gguf_set_str(cl_gguf_writer *w, const char *key, const char *v);
void cl_gguf_set_arr_str(cl_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
void cl_gguf_set_arr_i32(cl_gguf_writer *w, const char *key, const int32_t *v, uint64_t n);
void cl_gguf_set_arr_f32(cl_gguf_writer *w, const char *key, const float *v, uint64_t n);
/* data is copied; shape outermost first; dtype may be F32/F16/BF16/Q8_0 (data already encoded). */
void cl_gguf_add_tensor(cl_gguf_writer *w, const char *name, cl_dtype dtype, int ndim,
                        const int64_t *shape, const void *data);
int cl_gguf_writer_save(cl_gguf_writer *w, const char *path);
/* Any scalar type (value points to the native C type of that GGUF type: uint8_t.. double; bool is
 * an int), and numeric arrays of any element type (data packed, native = little-endian). */
void cl_gguf_set_scalar(cl_gguf_writer *w, const char *key, int type, const void *value);
void cl_gguf_set_arr(cl_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n);
/* A tensor whose bytes are produced at save time (one tensor in memory at a time: big models).
 * fill writes exactly nbytes (cl_dtype_bytes of the tensor) into out; returns 0, or -1 after
 * cl_fail to abort the save. */
typedef int (*cl_gguf_fill_fn)(void *ctx, const char *name, void *out, size_t nbytes);
void cl_gguf_add_tensor_fill(cl_gguf_writer *w, const char *name, cl_dtype dtype, int ndim,
                             const int64_t *shape, cl_gguf_fill_fn fill, void *ctx);
/* Setting a key twice keeps the last value; adding a tensor name twice, a bad shape or a Q8_0 row
 * length that is not a multiple of 32 makes cl_gguf_writer_save fail with a message. */

#endif
