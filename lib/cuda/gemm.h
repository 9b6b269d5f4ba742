/* cuda/gemm.h — the optional GPU offload of cl_gemm (built by `make CUDA=1`, see lib/cuda/gemm.cu).
 *
 * Only lib/ops.c calls these, under #ifdef CL_CUDA; everything else goes through cl_gemm.
 * Arguments are those of cl_gemm (row-major, op(X) = X^T when trans_X, strides as stored). */
#ifndef CL_CUDA_GEMM_H
#define CL_CUDA_GEMM_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha op(A) op(B) + beta C on the GPU.  Returns 0 when done, -1 for "not handled, use the
 * CPU" (C then untouched): a small product (M*N*K below CL_CUDA_MIN_WORK, default 1<<22), no
 * device (cudaGetDeviceCount fails or finds none), CL_NO_CUDA set, or any CUDA error (the
 * offload then stays off for the rest of the process).  Operands inside a region declared with
 * cl_cuda_const are uploaded once and kept on the device; the others are copied per call. */
int cl_cuda_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* [p, p + bytes) holds matrices that do not change until cl_cuda_forget(p). */
void cl_cuda_const(const void *p, size_t bytes);
/* Forget the region starting at p and free the device copies made from it (no-op if unknown). */
void cl_cuda_forget(const void *p);

#ifdef __cplusplus
}
#endif
#endif
