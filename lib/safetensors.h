/* safetensors.h — reader of one .safetensors file (mmap, validated): u64 LE header length, a
 * JSON header {name: {dtype, shape, data_offsets}}, then the data.  F32, F16 and BF16 only. */
#ifndef CL_SAFETENSORS_H
#define CL_SAFETENSORS_H
#include <stddef.h>
#include "tensor.h"

typedef struct cl_safetensors cl_safetensors;

cl_safetensors *cl_st_open(const char *path);                               /* NULL + cl_error() */
cl_safetensors *cl_st_open_mem(const void *data, size_t size, const char *name); /* data outlives it */
void cl_st_close(cl_safetensors *st);
int cl_st_n_tensors(const cl_safetensors *st);
const cl_tensor *cl_st_tensor(const cl_safetensors *st, int i);     /* names as stored (HF names) */
const cl_tensor *cl_st_find(const cl_safetensors *st, const char *name);

#endif
