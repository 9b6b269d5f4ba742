/* mat_kern.h — dot products of one stored row with an f32 vector, per dtype and CPU (internal to
 * mat.c).  cl_row_dot_for picks, once, the best kernel this CPU runs (AVX-512 with F16C and FMA;
 * else NULL: mat.c then dequantises blocks and uses cl_dot_f32, which has AVX2 and AVX-512
 * clones of its own).  CL_KERNELS=generic in the environment forces the portable path. */
#ifndef CL_MAT_KERN_H
#define CL_MAT_KERN_H
#include "tensor.h"

typedef float (*cl_row_dot)(const void *row, const float *x, int K);
cl_row_dot cl_row_dot_for(cl_dtype t);
/* The kernel family cl_row_dot_for uses: "avx512" or "generic". */
const char *cl_row_dot_isa(void);

#endif
