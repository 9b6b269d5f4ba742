/* mat_q8_x86.h — the target attributes of the AVX512-VNNI integer kernels (internal to
 * mat_q8_avx512.c and mat_q8_dec512.c): both files are compiled for baseline x86-64 and call these
 * functions only after cl_q8 has checked the CPU for every feature named here. */
#ifndef CL_MAT_Q8_X86_H
#define CL_MAT_Q8_X86_H
#define TV __attribute__((target("avx512f,avx512bw,avx512vnni,avx512vl,f16c,fma")))
#define TVI __attribute__((target("avx512f,avx512bw,avx512vnni,avx512vl,f16c,fma"), always_inline)) inline
#endif
