/* sentence_filter.c — see sentence_filter.h. */
#include "sentence_filter.h"
#include <string.h>

/* Case-sensitive; written without the final period. */
static const char *const ABBREV[] = {
    /* English titles, months, Latin */
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Gen", "Col", "Lt", "Sgt",
    "Capt", "Rev", "Hon", "Gov", "Sen", "Rep", "vs", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul",
    "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Vol", "Fig", "e.g", "i.e", "cf", "approx",
    /* German */
    "Hr", "Hrn", "Fr", "Frl", "Nr", "Str", "bzw", "ca", "vgl", "Abs", "Abb", "Bd", "Jh", "Kap",
    "evtl", "ggf", "inkl", "zzgl", "bspw", "sog", "Mio", "Mrd", "Tel", "geb", "Dipl", "Ing",
    "z.B", "d.h", "u.a", "s.o", "s.u", "Okt", "Dez", "Mär",
};
static const char *const MONTHS[] = {
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember", "Jänner",
};

static int is_blank(unsigned char c) { return c == ' ' || c == '\t'; }
static int is_ascii_letter(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

static int in_list(const char *w, size_t n, const char *const *list, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], w, n)) return 1;
    return 0;
}

int cl_sentence_break_suppressed(const char *text, size_t len, size_t start, size_t b) {
    const unsigned char *t = (const unsigned char *)text;
    if (b <= start || b >= len) return 0;
    /* punctuation glued to what follows: "a.b?x=1", "Hi!:)" */
    if ((t[b - 1] == '?' || t[b - 1] == '!' || t[b - 1] == '.') && t[b] > ' ' && t[b] < 0x7f)
        return 1;
    size_t e = b;
    while (e > start && is_blank(t[e - 1])) e--;
    if (e == b || e == start || t[e - 1] != '.') return 0;   /* needs "X." then spaces, no newline */
    size_t end = e - 1, w = end;                          /* the word is t[w..end) */
    while (w > start && t[w - 1] > ' ' && t[w - 1] != '(' && t[w - 1] != '"' && t[w - 1] != '\'') w--;
    size_t n = end - w;
    if (n == 0) return 0;
    if (n == 1 && is_ascii_letter(t[w])) return 1;        /* initials, "z. B." */
    if (in_list((const char *)t + w, n, ABBREV, sizeof ABBREV / sizeof *ABBREV)) return 1;
    if (n <= 2 && t[w] >= '0' && t[w] <= '9' && (n == 1 || (t[w + 1] >= '0' && t[w + 1] <= '9'))) {
        size_t m = b;                                     /* ordinal before a month name */
        while (m < len && t[m] > ' ' && t[m] != '.' && t[m] != ',') m++;
        return in_list((const char *)t + b, m - b, MONTHS, sizeof MONTHS / sizeof *MONTHS);
    }
    return 0;
}
