/* utf8.h — UTF-8 decoding and validation (strict: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef CL_UTF8_H
#define CL_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* Decode one code point at s (n > 0 bytes available).  Returns its byte length (1..4) and sets
 * *cp, or returns 0 when the bytes at s do not start a valid sequence (the caller then treats
 * s[0] as one invalid byte). */
int cl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Byte offset of the first invalid byte, or n when all n bytes are valid UTF-8 (a sequence cut
 * by the end counts as invalid). */
size_t cl_utf8_validate(const void *s, size_t n);
/* The same for streamed input: offset of the first byte of s[0..n) that does not start a
 * complete well-formed sequence (n if all of it is valid).  At that offset, *bad_len is the
 * length of the maximal ill-formed subpart (1..3 bytes, what one U+FFFD replaces, as in the
 * Unicode "best practice"), or 0 when the bytes there are a valid but truncated sequence running
 * to the end of the buffer (more input may complete it). */
size_t cl_utf8_check(const char *s, size_t n, size_t *bad_len);
/* Encode cp (<= U+10FFFF) into out (4 bytes); returns the length, 0 for invalid code points. */
int cl_utf8_encode(uint32_t cp, char out[4]);
/* Length of the UTF-8 sequence that lead byte c announces (1..4), or 0 if c can't lead. */
int cl_utf8_lead_len(unsigned char c);

/* Largest m <= max such that s[0..m) does not end inside a multi-byte character (n <= max: n). */
size_t cl_utf8_floor(const char *s, size_t n, size_t max);
/* A source name as the formats store it (always valid UTF-8, at most max bytes): a malloc'd copy
 * of the NUL-terminated s in which every byte that is not part of a well-formed UTF-8 sequence
 * is written as the four characters \xHH (hex, upper case), cut after the last whole character
 * or escape that fits in max bytes.  Valid names short enough come back unchanged. */
char *cl_utf8_name(const char *s, size_t max);

#endif
