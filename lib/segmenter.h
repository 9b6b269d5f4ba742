/* segmenter.h — streamed UTF-8 text -> sentence segments of at most S tokens (cl-segment's core).
 *
 * Sentences come from ICU's sentence BreakIterator (minus the breaks sentence_filter.h
 * rejects, e.g. after "Dr."); whitespace and newlines stay with the
 * sentence they follow, so the segments' texts concatenate to the input.  A sentence with more
 * than S tokens is cut into pieces of at most S tokens (segment_cut.h).  Input is fed in blocks
 * of any size and memory stays bounded: the break iterator runs over a window, all but the last
 * two (possibly unfinished) sentences are emitted and the rest is carried; a carry longer than
 * carry_cap (a "sentence" without breaks) is cut by token count. */
#ifndef CL_SEGMENTER_H
#define CL_SEGMENTER_H
#include <stddef.h>
#include <stdint.h>
#include "segment.h"
#include "segment_cut.h"


typedef struct {
    const char *locale;      /* ICU locale id; NULL = "en" */
    int max_tokens;          /* S >= 1 */
    int lossy;               /* replace invalid UTF-8 by U+FFFD instead of failing */
    cl_seg_tok tok;
    int (*emit)(void *ctx, const cl_segment *s);   /* 0, or -1 to stop (error set by it) */
    void *ctx;
    /* lossy: called for each replaced ill-formed sequence (input offset, its byte count) */
    void (*replaced)(void *ctx, uint64_t offset, size_t nbytes);
    size_t window;           /* new bytes gathered before a break-iterator pass; 0 = 64 KiB */
    size_t carry_cap;        /* longest carried unfinished text; 0 = 1 MiB (min 16 KiB) */
    int icu_only;            /* 1: keep all of ICU's breaks (no sentence_filter.h) */
} cl_segmenter_opts;

typedef struct cl_segmenter cl_segmenter;

cl_segmenter *cl_segmenter_new(const cl_segmenter_opts *o);   /* NULL + cl_error() */
void cl_segmenter_free(cl_segmenter *s);
/* Feed the next bytes of the current source.  Errors ("offset N: invalid UTF-8 ...") are
 * reported with offsets in the source's input bytes.  0 or -1. */
int cl_segmenter_feed(cl_segmenter *s, const char *data, size_t n);
/* End of the current source: emit the rest.  The next feed starts a new source (index and
 * offsets restart at 0).  0 or -1. */
int cl_segmenter_end(cl_segmenter *s);

/* Locale from the environment (LC_ALL, LC_MESSAGES, LANG; "de_DE.UTF-8" -> "de_DE"), or "en"
 * when unset, "C" or "POSIX".  Returns a static buffer. */
const char *cl_segmenter_env_locale(void);

#endif
