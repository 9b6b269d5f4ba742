/* mat_kern.h — dot products of one stored row with an f32 vector, per dtype and CPU (internal to
 * mat.c).  cl_row_dot_for picks, once, the best kernel this CPU runs: AVX-512 (with F16C and FMA)
 * for every dtype; else AVX2 + FMA + F16C for f16 and bf16; else NULL: mat.c then dequantises
 * blocks and uses cl_dot_f32, which has AVX2 and AVX-512 clones of its own (f32 rows always go
 * there).  Each kernel agrees with the dequantised f32 dot product up to float summation order
 * (tests/unit/test_quant.c: 1e-5 of sum |a w|, every family re-run in one test).  CL_KERNELS in the
 * environment caps the choice: "generic" forces the portable path, "avx2" the AVX2 kernels (and
 * turns off the AVX512-BF16 ones of mat_bf16.h), to test what CPUs without AVX-512 run. */
#ifndef CL_MAT_KERN_H
#define CL_MAT_KERN_H
#include "tensor.h"

typedef float (*cl_row_dot)(const void *row, const float *x, int K);
cl_row_dot cl_row_dot_for(cl_dtype t);
/* The kernel family cl_row_dot_for uses: "avx512", "avx2" or "generic"; "avx512+bf16" when the
 * AVX512-BF16 kernels of mat_bf16.h run bf16 products too. */
const char *cl_row_dot_isa(void);

#endif
