/* sha1.h — SHA-1 (FIPS 180-4), for the git blob ids the Hugging Face Hub gives as the ETag of
 * files stored in git (hub_pull.c checks downloads against them).  Not for security. */
#ifndef CL_SHA1_H
#define CL_SHA1_H
#include <stddef.h>
#include <stdint.h>

typedef struct { uint32_t h[5]; uint64_t len; uint8_t buf[64]; size_t nbuf; } cl_sha1;
void cl_sha1_init(cl_sha1 *s);
void cl_sha1_update(cl_sha1 *s, const void *data, size_t n);
void cl_sha1_final(cl_sha1 *s, uint8_t out[20]);

#endif
