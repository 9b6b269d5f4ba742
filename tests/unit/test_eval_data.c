/* cl-eval's example loader (JSONL, SQuAD) and long-context builder: gold placement by depth,
 * the target length, no repeated or duplicate-gold paragraphs, seeded reproducibility. */
#include <stdlib.h>
#include <string.h>

#include "eval_data.h"
#include "t.h"
#include "util.h"

static const char jsonl[] =
    "{\"context\":\"P0 gold.\",\"question\":\"q0\",\"answers\":[\"a\",{\"text\":\"b\"}]}\n"
    "\n"
    "{\"context\":\"P1.\",\"answer\":\"x\"}\n"
    "{\"context\":\"P0 gold.\",\"question\":\"q2\"}\n"
    "{\"context\":\"P3.\"}\n{\"context\":\"P4.\"}\n{\"context\":\"P5.\"}\n";

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p++) n++;
    return n;
}

int main(void) {
    cl_qa_set s;
    OK(cl_qa_load_mem("mem", jsonl, strlen(jsonl), &s) == 0, "JSONL loads");
    OK(s.n == 6 && s.n_paras == 5, "6 items, 5 distinct paragraphs (%d, %d)", s.n, s.n_paras);
    OK(s.items[0].n_answers == 2 && !strcmp(s.items[0].answers[1], "b"), "answers as strings and {text}");
    OK(s.items[1].n_answers == 1 && !strcmp(s.items[1].answers[0], "x") && !strcmp(s.items[1].id, "3"),
       "\"answer\" string; id is the line number (blank line counted)");
    OK(s.items[0].para == s.items[2].para && !strcmp(s.items[2].question, "q2"), "shared paragraph, same index");
    int tok[5] = {10, 10, 10, 10, 10};
    int est;
    char *c0 = cl_qa_long_context(&s, 0, tok, 35, 0.0, 7, &est);
    OK(!strncmp(c0, "P0 gold.", 8) && est == 40 && count(c0, "\n\n") == 3, "depth 0: gold first, 4 paragraphs (%d)", est);
    OK(count(c0, "P0 gold.") == 1, "the gold paragraph appears once (its duplicate item is no distractor)");
    char *c1 = cl_qa_long_context(&s, 0, tok, 35, 1.0, 7, &est);
    size_t l1 = strlen(c1);
    OK(l1 > 8 && !strcmp(c1 + l1 - 8, "P0 gold."), "depth 1: gold last");
    char *c2 = cl_qa_long_context(&s, 0, tok, 35, 1.0, 7, &est);
    OK(!strcmp(c1, c2), "same seed, same document");
    char *cm = cl_qa_long_context(&s, 0, tok, 1000, 0.5, 7, &est);
    OK(est == 50 && count(cm, "\n\n") == 4 && strstr(cm, "P0 gold.") > cm, "too few paragraphs: all of them (%d)", est);
    int n;
    int *idx = cl_qa_sample(&s, 4, 3, &n);
    int seen[6] = {0}, dup = 0;
    for (int i = 0; i < n; i++) dup |= seen[idx[i]]++;
    OK(n == 4 && !dup, "seeded sample: 4 distinct items");
    free(idx);
    idx = cl_qa_sample(&s, 3, 0, &n);
    OK(n == 3 && idx[0] == 0 && idx[2] == 2, "seed 0: the first items in order");
    free(idx);
    free(c0), free(c1), free(c2), free(cm);
    cl_qa_free(&s);

    const char *bad = "{\"context\":\"a\"}\n{\"question\":\"q\"}\n";
    OK(cl_qa_load_mem("bad.jsonl", bad, strlen(bad), &s) < 0 && strstr(cl_error(), "bad.jsonl:line 2"),
       "missing context: error names the file and line");
    const char *sq = "{\"data\":[{\"paragraphs\":[{\"context\":\"C\",\"qas\":[{\"id\":\"i\",\"question\":\"Q\","
                     "\"answers\":[],\"is_impossible\":true}]}]}]}";
    OK(cl_qa_load_mem("sq.json", sq, strlen(sq), &s) == 0 && s.n == 1 && s.items[0].n_answers == 1 &&
           !strcmp(s.items[0].answers[0], "") && !strcmp(s.items[0].id, "i"),
       "SQuAD v2 unanswerable: gold answer \"\"");
    cl_qa_free(&s);
    const char *sqbad = "{\"data\":[{\"paragraphs\":[{\"qas\":[]}]}]}";
    OK(cl_qa_load_mem("sq.json", sqbad, strlen(sqbad), &s) < 0 && strstr(cl_error(), "paragraphs[0]"),
       "SQuAD paragraph without context: error names it");
    return t_done();
}
