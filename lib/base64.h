/* base64.h — RFC 4648 base64 (standard alphabet, '=' padding, no line breaks). */
#ifndef CL_BASE64_H
#define CL_BASE64_H
#include <stddef.h>

/* Bytes of the encoding of n bytes, without the terminating NUL. */
size_t cl_base64_len(size_t n);
/* Encode n bytes into out (cl_base64_len(n) + 1 bytes, NUL-terminated); returns out. */
char *cl_base64_encode(const void *data, size_t n, char *out);

#endif
