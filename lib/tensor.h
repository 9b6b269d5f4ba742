/* tensor.h — a named, typed view of weights inside a model file, and dtype conversion. */
#ifndef CL_TENSOR_H
#define CL_TENSOR_H
#include <stddef.h>
#include <stdint.h>

/* Values are ggml_type numbers, so GGUF files map 1:1. */
typedef enum {
    CL_F32 = 0, CL_F16 = 1, CL_Q4_0 = 2, CL_Q8_0 = 8, CL_Q4_K = 12, CL_Q5_K = 13, CL_Q6_K = 14, CL_BF16 = 30
} cl_dtype;   /* block layouts: quant.h */

typedef struct {
    const char *name;
    cl_dtype dtype;
    int ndim;
    int64_t shape[4];   /* outermost first (numpy/PyTorch order): a Linear weight is [out, in] */
    const void *data;   /* into the mmapped file, or memory owned by the container */
    size_t nbytes;
} cl_tensor;

const char *cl_dtype_name(cl_dtype t);
int cl_dtype_valid(int t);
/* Bytes of n consecutive elements; -1 (cl_fail) if n is not a multiple of the block (q4_0, q8_0:
 * 32; q4_K, q5_K, q6_K: 256). */
int64_t cl_dtype_bytes(cl_dtype t, int64_t n);
int64_t cl_tensor_nelem(const cl_tensor *t);
/* The lookup of tensors by name of every model container (gguf, safetensors, model_file): the
 * indices 0..n-1 of t in name order (n + 1 ints, malloc'd: the caller frees), and *dup (unless
 * NULL) the index of a tensor whose name another one has, or -1. */
int *cl_tensor_index(const cl_tensor *t, int n, int *dup);
/* The tensor of t named name, by binary search of its index from cl_tensor_index, or NULL. */
const cl_tensor *cl_tensor_index_find(const cl_tensor *t, const int *index, int n, const char *name);
/* Convert/dequantize all elements to f32 (out holds nelem floats). */
int cl_tensor_to_f32(const cl_tensor *t, float *out);
/* Conversion of n elements starting at element offset `first` (any offset: blocks are decoded
 * whole and the wanted part copied). */
void cl_convert_to_f32(cl_dtype t, const void *src, int64_t first, int64_t n, float *out);

float cl_f16_to_f32(uint16_t h);
uint16_t cl_f32_to_f16(float f);      /* round to nearest even */
float cl_bf16_to_f32(uint16_t h);
uint16_t cl_f32_to_bf16(float f);     /* round to nearest even */
/* Quantize n floats (multiple of 32) to Q8_0 blocks (f16 scale + 32 int8), as ggml does; 0, or
 * -1 after cl_fail for a block q8_0 cannot hold (cl_quantize in quant.h). */
int cl_quantize_q8_0(const float *x, int64_t n, void *out);

#endif
