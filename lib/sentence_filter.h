/* sentence_filter.h — second opinion on ICU's sentence breaks.  ICU's rules break after any
 * period followed by a space and a capital letter, and after "?" or "!" even inside a URL;
 * this drops the breaks that are clearly not sentence ends (ICU's own "ss=standard" exception
 * lists are not used: they also drop real breaks, e.g. after German "er."). */
#ifndef CL_SENTENCE_FILTER_H
#define CL_SENTENCE_FILTER_H
#include <stddef.h>

/* 1 if the break ICU proposed at text[b] (start < b < len) should be dropped, where start is the
 * previous break that was kept (the text before it is not looked at, so that the answer does not
 * depend on where a streamed window begins):
 *  - the text before it ends in "X." + spaces/tabs (no newline) where X is a known abbreviation
 *    (titles and months such as Mr, Dr, Prof, Jan, St, Nr, bzw, vgl, ca, z.B, e.g) or a single
 *    letter (initials, "z. B.", "d. h.");
 *  - or "N." with N one or two digits, followed by a month name ("am 3. Oktober");
 *  - or "?", "!" or "." directly followed by a printable ASCII character ("a.b?x=1"). */
int cl_sentence_break_suppressed(const char *text, size_t len, size_t start, size_t b);

#endif
