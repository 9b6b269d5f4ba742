/* mat_q8_avx2.c — the integer products of mat_q8.h with AVX2 (not yet: NULL, so generic runs). */
#include "mat_q8.h"
#if defined(__x86_64__) && defined(__GNUC__)
cl_q8_cols cl_q8_cols_avx2(void) { return NULL; }
#endif
