/* segment_cut.h — cut a span of text that is too long into consecutive pieces of at most S
 * tokens each, where a piece's tokens are those of the piece encoded alone (what a downstream
 * tool that encodes each segment independently will see).
 *
 * Cuts fall on UTF-8 character boundaries.  A span that ends within reach is cut into pieces of
 * about equal size, at word starts (after whitespace, so whitespace stays with the piece it
 * follows) where that costs at most one extra piece, else on a token boundary of the span's own
 * encoding; inside a long span pieces are filled up, cut at a word start when one leaves the
 * piece at least half full.  Every candidate piece is re-encoded and checked, so the
 * "at most S ids" invariant holds whatever the tokenizer does at the cut (e.g. SentencePiece's
 * prepended "▁", or a trailing space becoming its own token). */
#ifndef CL_SEGMENT_CUT_H
#define CL_SEGMENT_CUT_H
#include <stddef.h>
#include <stdint.h>

/* The tokenizer as the segmenter sees it: a cl_tokenizer behind two calls (src/cl-segment.c),
 * or a simple stand-in in tests. */
typedef struct {
    /* Encode len bytes (no BOS); *ids is malloc'd.  0 or -1 + cl_fail. */
    int (*encode)(void *ctx, const char *text, size_t len, int32_t **ids, size_t *n);
    /* Byte length of one token as it appears in text (used to locate token boundaries). */
    size_t (*token_len)(void *ctx, int32_t id);
    void *ctx;
} cl_seg_tok;

/* A piece [off, off+len) of the span, its ids (valid only during the call) and whether it is the
 * span's last piece.  Returns 0, or -1 to stop. */
typedef int (*cl_cut_fn)(void *ctx, size_t off, size_t len, const int32_t *ids, size_t n,
                           int last);

/* Split text[0..len) (valid UTF-8) into pieces of at most max_tokens ids, in order.
 * final = 1: the whole span is emitted (a span that fits is one piece).
 * final = 0: the span continues beyond len; pieces are emitted only while more than a few KiB
 *            remain after them, and *done is set to the number of bytes emitted.
 * Returns 0, or -1 (cl_fail: tokenizer error, or a single character needing more than
 * max_tokens ids). */
int cl_segment_cut(const cl_seg_tok *tok, const char *text, size_t len, int max_tokens, int final,
                   cl_cut_fn emit, void *ctx, size_t *done);

#endif
