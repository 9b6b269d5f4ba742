/* utf8_valid.h — UTF-8 validation for streamed input (Unicode 15, table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF).  Unlike cl_utf8_validate (utf8.h), it tells a sequence
 * cut by the end of a block (wait for more bytes) from an invalid one, and gives the length of
 * the ill-formed part for U+FFFD replacement. */
#ifndef CL_UTF8_VALID_H
#define CL_UTF8_VALID_H
#include <stddef.h>

/* Offset of the first byte of s[0..n) that does not start a complete well-formed sequence
 * (n if all of it is valid).  At that offset, *bad_len is the length of the maximal ill-formed
 * subpart (1..3 bytes, what one U+FFFD replaces, as in the Unicode "best practice"), or 0 when
 * the bytes there are a valid but truncated sequence running to the end of the buffer (more
 * input may complete it). */
size_t cl_utf8_check(const char *s, size_t n, size_t *bad_len);

#endif
