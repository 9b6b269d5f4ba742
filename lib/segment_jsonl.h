/* segment_jsonl.h — the segment stream that cl-segment writes and cl-compress / cl-train read.
 *
 * One JSON object per line (JSONL), one line per segment, in document order:
 *   {"v":1,"name":"doc.txt","index":0,"offset":0,"length":13,"end":"sentence",
 *    "text":"Hello world. ","ids":[412,1079,30,263]}
 *   v       format version, always 1 for this layout.  A reader rejects any other value; fields
 *           may be ADDED in version 1 (readers ignore keys they do not know), never renamed or
 *           removed.
 *   name    source name (the file name as given, or "-" for stdin, or --name).
 *   index   0-based segment number within the source (restarts at 0 for each source).
 *   offset  byte offset of the segment in the source's input bytes.
 *   length  its length in input bytes (equals the UTF-8 length of text unless --lossy replaced
 *           invalid bytes inside it).
 *   end     "sentence": the segment ends a sentence (or the input);
 *           "tokens":   a sentence longer than the token limit was cut here.
 *   text    the segment's text, whitespace and newlines included: concatenating text over a
 *           source reproduces its input byte for byte.
 *   ids     token ids of text encoded alone with the model's tokenizer, no BOS.
 * See man/cl-segment.1. */
#ifndef CL_SEGMENT_JSONL_H
#define CL_SEGMENT_JSONL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "segment.h"

#define CL_SEGMENT_VERSION 1


/* Parse one line (without or with its trailing newline) into seg, which owns its memory afterwards
 * (cl_segment_free).  Returns 0, or -1 with cl_fail("what is wrong") and seg zeroed. */
int cl_segment_parse(const char *line, size_t len, cl_segment *seg);
void cl_segment_free(cl_segment *seg);

/* Write seg as one JSONL line (the layout above).  text must be valid UTF-8 (it is written
 * as-is, with JSON escapes only for '"', '\\' and control characters).  Returns 0 or -1. */
int cl_segment_write(FILE *f, const char *name, uint64_t index, uint64_t offset, uint64_t length,
                     int sentence_end, const char *text, size_t text_len, const int32_t *ids,
                     size_t n_ids);

/* Line reader over a file ("-" = stdin) with "path:line N: what" errors.  Blank lines are
 * skipped. */
typedef struct cl_segment_reader cl_segment_reader;
cl_segment_reader *cl_segment_reader_open(const char *path);   /* NULL + cl_error() */
/* 1: *seg filled (free it with cl_segment_free), 0: end of input, -1: error (cl_error()). */
int cl_segment_reader_next(cl_segment_reader *r, cl_segment *seg);
void cl_segment_reader_close(cl_segment_reader *r);
/* 1-based line number of the segment last returned (for messages about its content). */
uint64_t cl_segment_reader_line(const cl_segment_reader *r);

#endif
