/* test_sentence_filter.c — which of ICU's sentence breaks are dropped, on hand-made cases: the
 * break position is marked with '|' in each string (removed before the call). */
#include "sentence_filter.h"
#include "t.h"
#include <string.h>

/* the case as one printable line */
static const char *show(const char *s) {
    static char out[256];
    size_t k = 0;
    for (; *s && k + 3 < sizeof out; s++) {
        if (*s == '\n') out[k++] = '\\', out[k++] = 'n';
        else out[k++] = *s;
    }
    out[k] = 0;
    return out;
}

static int dropped(const char *marked) {
    char buf[256];
    const char *bar = strchr(marked, '|');
    size_t b = (size_t)(bar - marked), n = strlen(marked) - 1;
    memcpy(buf, marked, b);
    memcpy(buf + b, bar + 1, n - b);
    return cl_sentence_break_suppressed(buf, n, 0, b);
}

int main(void) {
    const char *drop[] = {
        "One day, Mr. |Brown asked.", "Dr. |Müller kam.", "Prof. |Dr. Schmidt", "(Dr. |Who)",
        "Das ist z. |B. ein Test.", "J. |R. R. Tolkien", "am 3. |Oktober 2020", "Am 1. |Januar.",
        "bis 24. |Dezember", "example.com/a.b?|x=1.2", "Wow!|Yes", "on Jan. |5th", "vgl. |S. 12",
        "e.g. |This", "St. |Louis",
    };
    const char *keep[] = {
        "Dann ging er. |Die Straße", "It was 1990. |October came.", "The end.\n|Next",
        "Mr.\n|Brown", "Yes! |No.", "What? |Nothing.", "Chapter 3. |Then we left.",
"今日は晴れです。|明日", "Really?! |Yes.",
        "Hello world. |This", "Plan ahead. |B", "Done.|\n",
    };
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
        OK(dropped(drop[i]) == 1, "dropped: %s", show(drop[i]));
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        OK(dropped(keep[i]) == 0, "kept: %s", show(keep[i]));
    OK(cl_sentence_break_suppressed("Mr. ", 4, 0, 4) == 0 && cl_sentence_break_suppressed("x", 1, 0, 0) == 0,
       "breaks at the start or end of the text are never dropped");
    const char *q = "He asked “why?”s. Then";   /* ICU's break after the quote (19) was kept */
    OK(cl_sentence_break_suppressed(q, strlen(q), 0, 22) == 0 && cl_sentence_break_suppressed(q, strlen(q), 19, 22) == 1,
       "the word before the period starts no earlier than the previous kept break");
    return t_done();
}
