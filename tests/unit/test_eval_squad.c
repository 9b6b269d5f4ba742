/* SQuAD normalisation, exact match and F1: hand-checked cases worked out from the official
 * evaluate-v2.0.py definitions, then the same function against that definition run by Python
 * (re + string, as the script does) over tricky strings, when /usr/bin/python3 is there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_squad.h"
#include "t.h"
#include "util.h"

static void norm_is(const char *in, const char *want) {
    char *got = cl_squad_normalize(in);
    OK(strcmp(got, want) == 0, "normalize(\"%s\") = \"%s\" (got \"%s\")", in, want, got);
    free(got);
}

static void f1_is(const char *pred, const char *gold, double want) {
    double got = cl_squad_f1(pred, gold);
    OK(fabs(got - want) < 1e-12, "f1(\"%s\", \"%s\") = %.6f (got %.6f)", pred, gold, want, got);
}

static const char *tricky[] = {
    "The Cat, sat.", "  An  apple\ta day ", "theatre and THE end", "a-b", "Caf\xc3\xa9\xe2\x80\x94the",
    "the_end", "A.B.C.", "\xc3\x89TAT de l'art", "an\xc2\xa0" "apple", "THE", "a an the", "x the\ny",
    "don't", "1,000 the 2nd", "\xce\x91\xce\x92 the \xce\xb1", "the\xc2\xb2", "(the)", "aa the-an",
    "\xe2\x85\xa0the", "", "   ",
};

/* The official definition, run by Python, one normalized string per line. */
static void against_python(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        SKIP("/usr/bin/python3 absent: no comparison with the official script's definition");
        return;
    }
    const char *in = t_tmp("squad_in.txt"), *out = t_tmp("squad_out.txt");
    FILE *f = fopen(in, "w");
    for (size_t i = 0; i < sizeof tricky / sizeof *tricky; i++) fprintf(f, "%s\x1e", tricky[i]);
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import re, string, sys\n"
             "def norm(s):\n"
             "    s = s.lower()\n"
             "    s = \"\".join(ch for ch in s if ch not in set(string.punctuation))\n"
             "    s = re.sub(r\"\\b(a|an|the)\\b\", \" \", s)\n"
             "    return \" \".join(s.split())\n"
             "d = open(sys.argv[1], encoding=\"utf-8\").read().split(\"\\x1e\")[:-1]\n"
             "open(sys.argv[2], \"w\", encoding=\"utf-8\").write(\"\".join(norm(x) + \"\\x1e\" for x in d))\n"
             "' %s %s",
             in, out);
    if (system(cmd) != 0) {
        OK(0, "python reference ran");
        return;
    }
    char *buf;
    size_t len;
    if (cl_read_file(out, &buf, &len) < 0) {
        OK(0, "python reference output readable");
        return;
    }
    char *p = buf;
    int same = 1;
    for (size_t i = 0; i < sizeof tricky / sizeof *tricky; i++) {
        char *e = strchr(p, '\x1e');
        if (!e) { same = 0; break; }
        *e = 0;
        char *got = cl_squad_normalize(tricky[i]);
        if (strcmp(got, p) != 0) {
            printf("# \"%s\": python \"%s\", ours \"%s\"\n", tricky[i], p, got);
            same = 0;
        }
        free(got);
        p = e + 1;
    }
    OK(same, "normalize agrees with the official definition run by Python on %zu tricky strings",
       sizeof tricky / sizeof *tricky);
    free(buf);
}

int main(void) {
    norm_is("The Cat, sat.", "cat sat");
    norm_is("  An  apple\ta day ", "apple day");
    norm_is("theatre and THE end", "theatre and end");
    norm_is("a-b", "ab");                    /* punctuation is deleted, not replaced by a space */
    norm_is("Caf\xc3\xa9\xe2\x80\x94the", "caf\xc3\xa9\xe2\x80\x94");   /* em dash is no ASCII punct */
    norm_is("the_end", "theend");            /* '_' is punctuation */
    norm_is("", "");
    OK(cl_squad_exact("The Eiffel Tower!", "eiffel   tower"), "exact: articles, case, punctuation");
    OK(!cl_squad_exact("Eiffel Towers", "eiffel tower"), "exact: a different word is no match");
    f1_is("the cat sat", "cat sat on mat", 2.0 / 3);   /* P = 2/2, R = 2/4 */
    f1_is("cat cat", "cat", 2.0 / 3);                  /* multiset: P = 1/2, R = 1/1 */
    f1_is("cat", "dog", 0);
    f1_is("", "", 1);                                  /* v2.0: both empty */
    f1_is("the", "", 1);                               /* normalizes to empty */
    f1_is("x", "", 0);
    f1_is("Paris, France", "paris", 2.0 / 3);          /* P = 1/2, R = 1 */
    const char *gold[] = {"Denver Broncos", "The Denver Broncos!", "Broncos"};
    OK(cl_squad_exact_max("denver broncos", gold, 3), "exact_max takes the best gold");
    OK(fabs(cl_squad_f1_max("the Broncos won", gold, 3) - 2.0 / 3) < 1e-12,
       "f1_max: best gold is \"Broncos\" (P 1/2, R 1), not \"Denver Broncos\" (1/2, 1/2)");
    against_python();
    return t_done();
}
