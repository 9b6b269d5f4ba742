/* eval_squad.h — the SQuAD answer metrics, as the official evaluate scripts define them.
 *
 * normalize(s) = white_space_fix(remove_articles(remove_punc(lower(s)))):
 *   lower:           Unicode simple lowercase of every code point;
 *   remove_punc:     drop every ASCII punctuation character (Python's string.punctuation);
 *   remove_articles: replace each whole word "a", "an", "the" (regex \b(a|an|the)\b, where a
 *                    word character is a letter, a digit or '_', Unicode-aware) by a space;
 *   white_space_fix: split on whitespace, join with single spaces.
 * Exact match: normalize(pred) == normalize(gold).
 * F1 over the normalized whitespace tokens (multiset overlap): 2PR/(P+R), 0 when no token is
 * shared; when either side has no tokens, 1 if both have none else 0 (SQuAD v2.0's rule, which
 * scores "no answer" as the empty string). */
#ifndef CL_EVAL_SQUAD_H
#define CL_EVAL_SQUAD_H

char *cl_squad_normalize(const char *s);          /* malloc'd */
int cl_squad_exact(const char *pred, const char *gold);
double cl_squad_f1(const char *pred, const char *gold);
/* Best over the gold answers (SQuAD's metric_max_over_ground_truths); 0 when n_gold == 0. */
int cl_squad_exact_max(const char *pred, const char *const *gold, int n_gold);
double cl_squad_f1_max(const char *pred, const char *const *gold, int n_gold);

#endif
