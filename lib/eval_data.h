/* eval_data.h — cl-eval's examples: QA sets and fidelity texts, and long contexts built from them.
 *
 * Accepted files:
 *   JSONL, one object per line: "context" (string, required), "question" (string, optional),
 *     "answers" (list of strings, or of {"text": ...} as in SQuAD) or "answer" (string), optional;
 *   SQuAD v1.1 / v2.0 JSON: {"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
 *     "answers": [{"text"}], "is_impossible"}]}]}]}; an unanswerable question (v2.0) has the
 *     one gold answer "" (what the official script scores against).
 * The format is told apart by the top level: a whole-file JSON object with a "data" array is
 * SQuAD, anything else is read line by line. */
#ifndef CL_EVAL_DATA_H
#define CL_EVAL_DATA_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *id;            /* SQuAD id, or "N" (1-based line number) for JSONL */
    char *context;
    char *question;      /* "" when absent */
    char **answers;      /* gold answers (n_answers may be 0) */
    int n_answers;
    int para;            /* index of the distinct context (items sharing a paragraph share it) */
} cl_qa_item;

typedef struct {
    cl_qa_item *items;
    int n;
    int n_paras;
} cl_qa_set;

/* Errors: "PATH:line N: what" (JSONL) or "PATH: what" (SQuAD). */
int cl_qa_load(const char *path, cl_qa_set *s);
/* The same from len bytes in memory (buf NUL-terminated); name is used in messages. */
int cl_qa_load_mem(const char *name, const char *buf, size_t len, cl_qa_set *s);
void cl_qa_free(cl_qa_set *s);
/* Indices of a seeded random sample of min(n, s->n) items (malloc'd, *n_out of them); seed 0
 * takes the first n in file order.  The set itself is untouched, so distractors for long
 * contexts still come from all of it. */
int *cl_qa_sample(const cl_qa_set *s, int n, uint64_t seed, int *n_out);

/* Long-context construction: item `gold`'s context placed among distractor paragraphs (the
 * other distinct contexts of the set, in a seeded random order) until their token counts
 * (para_tokens[p], by paragraph index) reach target_tokens; the gold paragraph goes at
 * relative depth 0 (first) .. 1 (last).  Paragraphs are joined by a blank line.  *est_tokens
 * gets the sum of the counts used.  Returns the malloc'd text; when the set runs out of
 * distractors the text is shorter than asked. */
char *cl_qa_long_context(const cl_qa_set *s, int gold, const int *para_tokens, int target_tokens,
                         double depth, uint64_t seed, int *est_tokens);

#endif
