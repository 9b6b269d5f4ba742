/* segment.h — one segment of a source text: where it lies in the source, its text and its
 * token ids.  The segmenter hands out segments that point into its buffers (valid during the
 * emit call, name NULL); the JSONL reader (segment_jsonl.h) fills ones that own their memory
 * (cl_segment_free). */
#ifndef CL_SEGMENT_H
#define CL_SEGMENT_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;        /* source name, NUL-terminated; NULL from the segmenter */
    const char *text;        /* valid UTF-8 from the segmenter; may contain NULs: use text_len */
    size_t text_len;
    const int32_t *ids;      /* text encoded alone, no BOS */
    size_t n_ids;
    uint64_t index;          /* 0-based within the source */
    uint64_t offset, length; /* in the source's input bytes (before any lossy repair) */
    int sentence_end;        /* 1: ends a sentence (or the input); 0: cut by the token limit */
} cl_segment;

#endif
