/* ce.h — the CE file: concept embeddings of compressed segments, as self-describing records.
 *
 * A CE file is zero or more records laid end to end, so `cat a.ce b.ce > ab.ce` is a CE file.
 * Every record is little-endian:
 *
 *   off size field
 *     0   4  magic "CLCE"
 *     4   2  version (1)
 *     6   2  header size in bytes (160 for version 1)
 *     8   4  dim D (elements per vector)
 *    12   4  count (vectors in the record)
 *    16   1  element type: 0 f32, 1 f16, 30 bf16 (ggml type numbers)
 *    17   1  reserved, 0
 *    18   2  source name length L (bytes following the header)
 *    20   4  tokens in the segment
 *    24   8  segment index in its source
 *    32   8  byte offset of the segment in its source
 *    40   8  byte length of the segment in its source
 *    48  32  base-model fingerprint (cl_model_file_fingerprint)
 *    80  32  compressor fingerprint
 *   112  32  content hash: SHA-256 of the segment's token ids as little-endian int32
 *   144   8  payload bytes (count * D * element size)
 *   152   8  checksum: first 8 bytes of SHA-256 over bytes 0..151, the name and the payload
 *   160   L  source name (UTF-8, not NUL-terminated)
 * 160+L   P  payload: count vectors of D elements, row-major
 *
 * man/cl-ce.5 is the user-facing description of the same layout. */
#ifndef CL_CE_H
#define CL_CE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "tensor.h"

#define CL_CE_MAGIC "CLCE"
#define CL_CE_VERSION 1
#define CL_CE_HEADER 160
#define CL_CE_MAX_DIM (1u << 20)
#define CL_CE_MAX_COUNT (1u << 20)
#define CL_CE_MAX_NAME 65535u   /* longest source name; a longer one is cut at a character boundary */

typedef struct {
    uint32_t dim, count, n_tokens;
    cl_dtype dtype;                 /* of the payload on disk: CL_F32, CL_F16 or CL_BF16 */
    uint64_t seg_index, src_offset, src_length;
    uint8_t model_fp[32], comp_fp[32], content_hash[32];
    const char *source;             /* NUL-terminated; NULL or "" for none */
} cl_ce_meta;

/* SHA-256 of n token ids as little-endian int32: the content hash of a segment. */
void cl_ce_content_hash(const int32_t *ids, size_t n, uint8_t out[32]);

/* Encode one record (count*dim floats from embd, converted to meta->dtype) into a malloc'd
 * buffer; returns its size, or 0 after cl_fail on a bad meta or, for f16/bf16, a finite value
 * beyond the dtype's range ("CE: segment N of \"SOURCE\" (offset O, L bytes): vector V: element E is
 * 70000, beyond f16 (max 65504)"; inf and nan are kept, as in f32). */
size_t cl_ce_encode(const cl_ce_meta *meta, const float *embd, uint8_t **out);
/* Encode and fwrite one record; -1 on a write error. */
int cl_ce_write(FILE *f, const cl_ce_meta *meta, const float *embd);

/* Streaming reader: one record at a time, from a file, stdin ("-") or memory. */
typedef struct cl_ce_reader cl_ce_reader;
cl_ce_reader *cl_ce_open(const char *path);
/* 1 when path is a regular file that starts with the CE magic (checked without blocking). */
int cl_ce_is_file(const char *path);
cl_ce_reader *cl_ce_open_mem(const void *data, size_t size, const char *name);
/* Next record: 1 (meta and embd filled, valid until the next call), 0 at a clean end of input,
 * -1 (cl_fail: "NAME: record N at byte offset O: what", N counted from 1, O where the record
 * starts) on a truncated, corrupt or unknown record; the reader then stays failed.
 * embd is the payload converted to f32, [count, dim].  meta and embd may be NULL. */
int cl_ce_next(cl_ce_reader *r, cl_ce_meta *meta, const float **embd);
/* Raw bytes of the record last returned (header, name and payload). */
const uint8_t *cl_ce_raw(const cl_ce_reader *r, size_t *size);
int64_t cl_ce_record_number(const cl_ce_reader *r);   /* 0-based number of the last record */
void cl_ce_close(cl_ce_reader *r);

/* Read every record of every file (paths[i] "-" = stdin) into one malloc'd [*n, *dim] f32 array,
 * in order.  Every record must have the same dim and, when model_fp is not NULL, that base-model
 * fingerprint (else the whole read fails naming file, record and offset).  *dim is 0 when there
 * are no records at all. */
int cl_ce_read_all(const char *const *paths, int n_paths, const uint8_t *model_fp, float **embd,
                   size_t *n, uint32_t *dim);

#endif
