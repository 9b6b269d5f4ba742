/* eval_squad.c — SQuAD normalisation, exact match and token F1 (see eval_squad.h). */
#include "eval_squad.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>

#include "utf8.h"
#include "util.h"

/* Bytes that are not valid UTF-8 pass through as themselves: code points above U+10FFFF. */
#define RAW_BYTE 0x110000u

static int is_ascii_punct(uint32_t c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* Python's \w on str: letters, digits and other numerics (str.isalnum), and '_'. */
static int is_word(uint32_t c) {
    if (c >= RAW_BYTE) return 0;
    if (c == '_') return 1;
    if (u_isalpha((UChar32)c) || u_isdigit((UChar32)c)) return 1;
    int8_t t = u_charType((UChar32)c);
    return t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

/* Python's str.isspace (what str.split() splits on). */
static int is_space(uint32_t c) {
    if (c >= RAW_BYTE) return 0;
    return (c >= 0x1c && c <= 0x1f) || u_isUWhiteSpace((UChar32)c);
}

static int is_article(const uint32_t *w, size_t n) {
    return (n == 1 && w[0] == 'a') || (n == 2 && w[0] == 'a' && w[1] == 'n') ||
           (n == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

char *cl_squad_normalize(const char *s) {
    size_t len = strlen(s), n = 0;
    uint32_t *cp = cl_malloc((len + 1) * sizeof *cp);
    for (size_t i = 0; i < len;) {   /* lower + remove_punc */
        uint32_t c;
        int k = cl_utf8_decode((const unsigned char *)s + i, len - i, &c);
        if (k == 0) {
            c = RAW_BYTE + (unsigned char)s[i];
            k = 1;
        } else {
            c = (uint32_t)u_tolower((UChar32)c);
        }
        i += (size_t)k;
        if (!is_ascii_punct(c)) cp[n++] = c;
    }
    for (size_t i = 0; i < n;) {     /* remove_articles: a maximal word run that is an article */
        if (!is_word(cp[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && is_word(cp[j])) j++;
        if (is_article(cp + i, j - i)) {
            cp[i] = ' ';
            memmove(cp + i + 1, cp + j, (n - j) * sizeof *cp);
            n -= j - i - 1;
            j = i + 1;
        }
        i = j;
    }
    char *out = cl_malloc(4 * n + 1);   /* white_space_fix */
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_space(cp[i])) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        if (cp[i] >= RAW_BYTE) out[o++] = (char)(cp[i] - RAW_BYTE);
        else o += (size_t)cl_utf8_encode(cp[i], out + o);
    }
    out[o] = 0;
    free(cp);
    return out;
}

int cl_squad_exact(const char *pred, const char *gold) {
    char *a = cl_squad_normalize(pred), *b = cl_squad_normalize(gold);
    int r = strcmp(a, b) == 0;
    free(a);
    free(b);
    return r;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* Split a normalized string (single spaces) in place into sorted tokens. */
static char **tokens(char *s, size_t *n) {
    size_t cap = 1;
    for (char *p = s; *p; p++) cap += *p == ' ';
    char **t = cl_malloc(cap * sizeof *t);
    *n = 0;
    for (char *p = s; *p;) {
        t[(*n)++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    qsort(t, *n, sizeof *t, cmp_str);
    return t;
}

double cl_squad_f1(const char *pred, const char *gold) {
    char *a = cl_squad_normalize(pred), *b = cl_squad_normalize(gold);
    size_t na, nb;
    char **ta = tokens(a, &na), **tb = tokens(b, &nb);
    double f1;
    if (na == 0 || nb == 0) {
        f1 = na == nb;
    } else {
        size_t same = 0;   /* multiset intersection of two sorted lists */
        for (size_t i = 0, j = 0; i < na && j < nb;) {
            int c = strcmp(ta[i], tb[j]);
            if (c == 0) same++, i++, j++;
            else if (c < 0) i++;
            else j++;
        }
        double p = (double)same / na, r = (double)same / nb;
        f1 = same ? 2 * p * r / (p + r) : 0;
    }
    free(ta);
    free(tb);
    free(a);
    free(b);
    return f1;
}

int cl_squad_exact_max(const char *pred, const char *const *gold, int n_gold) {
    int best = 0;
    for (int i = 0; i < n_gold && !best; i++) best = cl_squad_exact(pred, gold[i]);
    return best;
}

double cl_squad_f1_max(const char *pred, const char *const *gold, int n_gold) {
    double best = 0;
    for (int i = 0; i < n_gold; i++) {
        double f = cl_squad_f1(pred, gold[i]);
        if (f > best) best = f;
    }
    return best;
}
