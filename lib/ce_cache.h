/* ce_cache.h — the segment cache: content-addressed CEs on disk, shared by concurrent processes.
 *
 * Key: SHA-256 of (compressor fingerprint, content hash of the segment's token ids), so a segment
 * seen before, in any document and at any position, is read back instead of recomputed.
 * Entry: DIR/<first 2 hex digits>/<64 hex digits>.ce, one f32 CE record (ce.h) — written to a
 * temporary file in the same directory and renamed into place (cl_atomic_open_replace), so
 * readers never see half an entry.  Only regular files are read, opened without blocking (a FIFO
 * or device in the cache is a miss, and the next put replaces it).  Readers validate the record (checksum, fingerprint, content hash, shape); a corrupt or
 * foreign entry is a miss and is overwritten by the next put. */
#ifndef CL_CE_CACHE_H
#define CL_CE_CACHE_H
#include <stdint.h>
#include "ce.h"

typedef struct cl_ce_cache cl_ce_cache;

/* Creates dir (and parents) if needed; NULL (message) when dir is empty or is not a directory. */
cl_ce_cache *cl_ce_cache_open(const char *dir);
void cl_ce_cache_close(cl_ce_cache *c);
/* 1 and count*dim floats in out on a hit, 0 on a miss (absent, corrupt, other shape). */
int cl_ce_cache_get(cl_ce_cache *c, const uint8_t comp_fp[32], const uint8_t content_hash[32], uint32_t dim,
                    uint32_t count, float *out);
/* Store m->count x m->dim floats under (m->comp_fp, m->content_hash).  -1 on the first failure
 * (read-only or full file system, a directory in the way, ...), with a message for the caller to
 * print as a warning; from then on puts are skipped (0, counted in skipped), so a run warns once
 * and carries on.  A cache whose directory could not be created (read-only file system) opens
 * fine, misses every get and reports that on its first put. */
int cl_ce_cache_put(cl_ce_cache *c, const cl_ce_meta *m, const float *embd);
/* Counters since open. */
typedef struct { uint64_t hits, misses, corrupt, puts, skipped; } cl_ce_cache_stats;
cl_ce_cache_stats cl_ce_cache_get_stats(const cl_ce_cache *c);

#endif
