/* segment_text.h — a text in memory -> token-id segments, cut exactly as cl-segment cuts them
 * (segmenter.h with the model's tokenizer); the one place the tokenizer meets the segmenter. */
#ifndef CL_SEGMENT_TEXT_H
#define CL_SEGMENT_TEXT_H
#include <stdint.h>
#include "segment_cut.h"
#include "tokenizer.h"

/* The tokenizer as the segmenter sees it (plain encoding, no BOS; token lengths in bytes). */
cl_seg_tok cl_seg_tok_for(const cl_tokenizer *tok);

/* text (NUL-terminated) -> segments of at most S tokens (each encoded alone, no BOS),
 * concatenated into *ids, with their lengths in *seg_len (both allocated even when empty).
 * Empty segments are dropped.  lossy: invalid UTF-8 becomes U+FFFD instead of an error.
 * Locale "en" (the segmenter's default).  0 or -1. */
int cl_text_segments(const cl_tokenizer *tok, const char *text, int S, int lossy, int32_t **ids,
                     int **seg_len, int *n_seg);

#endif
