/* gemm.cu — cl_gemm on the GPU through cuBLAS (see cuda/gemm.h).
 *
 * Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: a row-major matrix with row
 * stride ld is, read column-major, its transpose with the same ld.  So the call below passes B
 * before A with the transposes unchanged and N, M swapped.  Device copies are packed (ld = cols).
 *
 * Weights (operands inside a cl_cuda_const region: the model arena) are uploaded at first use and
 * kept; activations, KV cache rows and C are copied per call.  One mutex serialises the device
 * work, the cache and the scratch buffers. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/gemm.h"

enum { UNTRIED, READY, OFF };

struct region { uintptr_t lo, hi; };
struct cached { const float *host; int rows, cols, ld; float *dev; };
struct scratch { float *dev; size_t floats; };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int state = UNTRIED, verbose = 0;
static double min_work = (double)(1 << 22);
static cublasHandle_t handle;
static region *regions;
static int n_regions, cap_regions;
static cached *cache;
static int n_cache, cap_cache;
static scratch sa, sb, sc;
static float *stage;          /* host copy of C when beta != 0: C stays whole if a copy fails */
static size_t stage_floats;

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void off(const char *why) {
    state = OFF;
    if (verbose) fprintf(stderr, "cl: CUDA offload off (%s): CPU path\n", why);
}

/* Once, at the first product large enough: is there a device to use? */
static void init(void) {
    verbose = env_on("CL_CUDA_VERBOSE");
    if (env_on("CL_NO_CUDA")) return off("CL_NO_CUDA set");
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return off(cudaGetErrorString(e));
    }
    if (n < 1) return off("no CUDA device");
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) return off("cublasCreate failed");
    state = READY;
    if (verbose) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
            fprintf(stderr, "cl: CUDA offload on: %s, products of M*N*K >= %.0f\n", p.name, min_work);
    }
}

static int grow(void **p, size_t *have, size_t floats, int device) {
    if (floats <= *have) return 0;
    if (device) {
        if (*p) cudaFree(*p);
        *p = NULL;
        *have = 0;
        if (cudaMalloc(p, floats * sizeof(float)) != cudaSuccess) {
            cudaGetLastError();
            *p = NULL;
            return -1;
        }
    } else {
        void *q = realloc(*p, floats * sizeof(float));
        if (!q) return -1;
        *p = q;
    }
    *have = floats;
    return 0;
}

static int upload(float *dev, const float *host, int rows, int cols, int ld) {
    return cudaMemcpy2D(dev, (size_t)cols * sizeof(float), host, (size_t)ld * sizeof(float),
                        (size_t)cols * sizeof(float), (size_t)rows, cudaMemcpyHostToDevice) == cudaSuccess
               ? 0 : -1;
}

static int is_const(const float *h, int rows, int cols, int ld) {
    uintptr_t lo = (uintptr_t)h, hi = lo + ((size_t)(rows - 1) * ld + cols) * sizeof(float);
    for (int i = 0; i < n_regions; i++)
        if (lo >= regions[i].lo && hi <= regions[i].hi) return 1;
    return 0;
}

/* Device copy of a rows x cols operand (row stride ld): the cached one for a weight, else a
 * per-call upload into s.  NULL on a CUDA error. */
static const float *operand(const float *h, int rows, int cols, int ld, scratch *s) {
    if (is_const(h, rows, cols, ld)) {
        for (int i = 0; i < n_cache; i++)
            if (cache[i].host == h && cache[i].rows == rows && cache[i].cols == cols && cache[i].ld == ld)
                return cache[i].dev;
        float *d = NULL;
        if (n_cache == cap_cache) {
            int nc = cap_cache ? 2 * cap_cache : 64;
            cached *q = (cached *)realloc(cache, (size_t)nc * sizeof *q);
            if (!q) goto per_call;
            cache = q;
            cap_cache = nc;
        }
        if (cudaMalloc(&d, (size_t)rows * cols * sizeof(float)) != cudaSuccess) {
            cudaGetLastError();   /* device full: this weight goes up per call */
            goto per_call;
        }
        if (upload(d, h, rows, cols, ld) < 0) {
            cudaFree(d);
            return NULL;
        }
        cache[n_cache++] = (cached){h, rows, cols, ld, d};
        return d;
    }
per_call:
    if (grow((void **)&s->dev, &s->floats, (size_t)rows * cols, 1) < 0) return NULL;
    return upload(s->dev, h, rows, cols, ld) < 0 ? NULL : s->dev;
}

static int run(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    int ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K, bc = trans_b ? K : N;
    const float *dA = operand(A, ar, ac, lda, &sa);
    if (!dA) return -1;
    const float *dB = operand(B, br, bc, ldb, &sb);
    if (!dB) return -1;
    if (grow((void **)&sc.dev, &sc.floats, (size_t)M * N, 1) < 0) return -1;
    if (beta != 0.0f && upload(sc.dev, C, M, N, ldc) < 0) return -1;
    if (cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                    N, M, K, &alpha, dB, bc, dA, ac, &beta, sc.dev, N) != CUBLAS_STATUS_SUCCESS)
        return -1;
    /* With beta == 0 the CPU fallback overwrites C anyway; otherwise go through a host copy. */
    float *dst = C;
    size_t dpitch = (size_t)ldc;
    if (beta != 0.0f) {
        if (grow((void **)&stage, &stage_floats, (size_t)M * N, 0) < 0) return -1;
        dst = stage;
        dpitch = (size_t)N;
    }
    if (cudaMemcpy2D(dst, dpitch * sizeof(float), sc.dev, (size_t)N * sizeof(float), (size_t)N * sizeof(float),
                     (size_t)M, cudaMemcpyDeviceToHost) != cudaSuccess)
        return -1;
    if (dst == stage)
        for (int i = 0; i < M; i++) memcpy(C + (size_t)i * ldc, stage + (size_t)i * N, (size_t)N * sizeof(float));
    return 0;
}

extern "C" int cl_cuda_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                            int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0 || K <= 0) return -1;
    pthread_mutex_lock(&mu);
    if (state == UNTRIED) {
        const char *w = getenv("CL_CUDA_MIN_WORK");
        if (w && *w) min_work = atof(w);
    }
    int rc = -1;
    if ((double)M * N * K >= min_work) {
        if (state == UNTRIED) init();
        if (state == READY) {
            rc = run(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            if (rc < 0) {
                cudaError_t e = cudaGetLastError();
                off(e != cudaSuccess ? cudaGetErrorString(e) : "out of memory or cuBLAS error");
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

extern "C" void cl_cuda_const(const void *p, size_t bytes) {
    if (!p || !bytes) return;
    pthread_mutex_lock(&mu);
    if (n_regions == cap_regions) {
        int nc = cap_regions ? 2 * cap_regions : 8;
        region *q = (region *)realloc(regions, (size_t)nc * sizeof *q);
        if (!q) {   /* not registered: its operands go up per call, still correct */
            pthread_mutex_unlock(&mu);
            return;
        }
        regions = q;
        cap_regions = nc;
    }
    regions[n_regions++] = (region){(uintptr_t)p, (uintptr_t)p + bytes};
    pthread_mutex_unlock(&mu);
}

extern "C" void cl_cuda_forget(const void *p) {
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_regions; i++) {
        if (regions[i].lo != (uintptr_t)p) continue;
        region r = regions[i];
        regions[i] = regions[--n_regions];
        for (int j = 0; j < n_cache;) {
            uintptr_t h = (uintptr_t)cache[j].host;
            if (h >= r.lo && h < r.hi) {
                if (state == READY) cudaFree(cache[j].dev);
                cache[j] = cache[--n_cache];
            } else {
                j++;
            }
        }
        break;
    }
    pthread_mutex_unlock(&mu);
}
