/* eval_data.c — QA / fidelity examples from JSONL or SQuAD JSON, and long contexts (eval_data.h). */
#include "eval_data.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "util.h"

static void item_free(cl_qa_item *it) {
    free(it->id);
    free(it->context);
    free(it->question);
    for (int i = 0; i < it->n_answers; i++) free(it->answers[i]);
    free(it->answers);
}

void cl_qa_free(cl_qa_set *s) {
    for (int i = 0; i < s->n; i++) item_free(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static cl_qa_item *push(cl_qa_set *s, int *cap) {
    if (s->n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        s->items = cl_realloc(s->items, (size_t)*cap * sizeof *s->items);
    }
    cl_qa_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    return it;
}

static void add_answer(cl_qa_item *it, const char *a) {
    it->answers = cl_realloc(it->answers, (size_t)(it->n_answers + 1) * sizeof *it->answers);
    it->answers[it->n_answers++] = cl_strdup(a);
}

/* "answers": list of strings or of {"text": str}. */
static int read_answers(cl_qa_item *it, json_t *list) {
    if (!json_is_array(list)) return cl_fail("\"answers\" is not a list");
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        if (json_is_object(a)) a = json_object_get(a, "text");
        if (!json_is_string(a)) return cl_fail("answer %zu is neither a string nor {\"text\": string}", i + 1);
        add_answer(it, json_string_value(a));
    }
    return 0;
}

static int jsonl_item(cl_qa_item *it, json_t *o) {
    if (!json_is_object(o)) return cl_fail("not a JSON object");
    json_t *c = json_object_get(o, "context"), *q = json_object_get(o, "question");
    json_t *as = json_object_get(o, "answers"), *a = json_object_get(o, "answer");
    if (!json_is_string(c)) return cl_fail("\"context\" missing or not a string");
    if (q && !json_is_string(q)) return cl_fail("\"question\" is not a string");
    it->context = cl_strdup(json_string_value(c));
    it->question = cl_strdup(q ? json_string_value(q) : "");
    if (as) return read_answers(it, as);
    if (a) {
        if (!json_is_string(a)) return cl_fail("\"answer\" is not a string");
        add_answer(it, json_string_value(a));
    }
    return 0;
}

static int load_jsonl(const char *path, const char *buf, cl_qa_set *s) {
    int cap = 0;
    long line = 0;
    for (const char *p = buf; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        line++;
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k < len) {
            json_error_t err;
            json_t *o = json_loadb(p, len, 0, &err);
            if (!o) return cl_fail("%s:line %ld: bad JSON: %s", path, line, err.text);
            cl_qa_item *it = push(s, &cap);
            char id[32];
            snprintf(id, sizeof id, "%ld", line);
            it->id = cl_strdup(id);
            int rc = jsonl_item(it, o);
            json_decref(o);
            if (rc < 0) return cl_fail_prefix("%s:line %ld", path, line);
        }
        p += len + (e != NULL);
    }
    return 0;
}

static int load_squad(const char *path, json_t *root, cl_qa_set *s) {
    json_t *data = json_object_get(root, "data");
    int cap = 0;
    size_t i, j, k;
    json_t *art, *para, *qa;
    json_array_foreach(data, i, art) {
        json_t *paras = json_object_get(art, "paragraphs");
        if (!json_is_array(paras)) return cl_fail("%s: data[%zu]: no \"paragraphs\" list", path, i);
        json_array_foreach(paras, j, para) {
            json_t *ctx = json_object_get(para, "context"), *qas = json_object_get(para, "qas");
            if (!json_is_string(ctx) || !json_is_array(qas))
                return cl_fail("%s: data[%zu].paragraphs[%zu]: needs \"context\" and \"qas\"", path, i, j);
            json_array_foreach(qas, k, qa) {
                json_t *q = json_object_get(qa, "question"), *id = json_object_get(qa, "id");
                json_t *ans = json_object_get(qa, "answers"), *imp = json_object_get(qa, "is_impossible");
                if (!json_is_string(q))
                    return cl_fail("%s: data[%zu].paragraphs[%zu].qas[%zu]: no \"question\"", path, i, j, k);
                cl_qa_item *it = push(s, &cap);
                char buf[64];
                snprintf(buf, sizeof buf, "%zu.%zu.%zu", i, j, k);
                it->id = cl_strdup(json_is_string(id) ? json_string_value(id) : buf);
                it->context = cl_strdup(json_string_value(ctx));
                it->question = cl_strdup(json_string_value(q));
                if (ans && read_answers(it, ans) < 0)
                    return cl_fail_prefix("%s: question %s", path, it->id);
                if (json_is_true(imp) || it->n_answers == 0) {   /* v2.0: "no answer" is "" */
                    for (int a = 0; a < it->n_answers; a++) free(it->answers[a]);
                    it->n_answers = 0;
                    add_answer(it, "");
                }
            }
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp((*(cl_qa_item *const *)a)->context, (*(cl_qa_item *const *)b)->context);
}

/* Number the distinct contexts. */
static void index_paras(cl_qa_set *s) {
    cl_qa_item **v = cl_malloc((size_t)(s->n ? s->n : 1) * sizeof *v);
    for (int i = 0; i < s->n; i++) v[i] = &s->items[i];
    qsort(v, (size_t)s->n, sizeof *v, cmp_str);
    s->n_paras = 0;
    for (int i = 0; i < s->n; i++) {
        if (i > 0 && strcmp(v[i]->context, v[i - 1]->context) != 0) s->n_paras++;
        v[i]->para = s->n_paras;
    }
    if (s->n) s->n_paras++;
    free(v);
}

int cl_qa_load_mem(const char *name, const char *buf, size_t len, cl_qa_set *s) {
    memset(s, 0, sizeof *s);
    if (strlen(buf) != len) return cl_fail("%s: contains a NUL byte", name);
    json_t *root = json_loadb(buf, len, 0, NULL);
    int rc = json_is_object(root) && json_is_array(json_object_get(root, "data"))
                 ? load_squad(name, root, s)
                 : load_jsonl(name, buf, s);
    json_decref(root);
    if (rc < 0) {
        cl_qa_free(s);
        return -1;
    }
    if (s->n == 0) return cl_fail("%s: no examples", name);
    index_paras(s);
    return 0;
}

int cl_qa_load(const char *path, cl_qa_set *s) {
    char *buf;
    size_t len;
    memset(s, 0, sizeof *s);
    if (cl_read_file(path, &buf, &len) < 0) return -1;
    int rc = cl_qa_load_mem(path, buf, len, s);
    free(buf);
    return rc;
}

int *cl_qa_sample(const cl_qa_set *s, int n, uint64_t seed, int *n_out) {
    int *idx = cl_malloc((size_t)(s->n ? s->n : 1) * sizeof *idx);
    for (int i = 0; i < s->n; i++) idx[i] = i;
    if (seed) {   /* Fisher-Yates with the project's PRNG */
        cl_rng r;
        cl_rng_seed(&r, seed);
        for (int i = s->n - 1; i > 0; i--) {
            int j = (int)(cl_rng_next(&r) % (uint64_t)(i + 1));
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
    }
    *n_out = n < s->n ? n : s->n;
    return idx;
}

char *cl_qa_long_context(const cl_qa_set *s, int gold, const int *para_tokens, int target_tokens,
                         double depth, uint64_t seed, int *est_tokens) {
    /* one representative item per paragraph, gold's paragraph left out */
    int *rep = cl_malloc((size_t)(s->n_paras + 1) * sizeof *rep), n_rep = 0;
    char *seen = cl_calloc((size_t)s->n_paras + 1, 1);
    int gp = s->items[gold].para;
    seen[gp] = 1;
    for (int i = 0; i < s->n; i++)
        if (!seen[s->items[i].para]) {
            seen[s->items[i].para] = 1;
            rep[n_rep++] = i;
        }
    cl_rng r;
    cl_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(gold + 1)));
    for (int i = n_rep - 1; i > 0; i--) {
        int j = (int)(cl_rng_next(&r) % (uint64_t)(i + 1));
        int t = rep[i];
        rep[i] = rep[j];
        rep[j] = t;
    }
    int tokens = para_tokens[gp], used = 0;
    while (used < n_rep && tokens < target_tokens) tokens += para_tokens[s->items[rep[used++]].para];
    if (depth < 0) depth = 0;
    if (depth > 1) depth = 1;
    int at = (int)(depth * used + 0.5);   /* distractors before the gold paragraph */
    size_t len = 1;
    for (int i = 0; i < used; i++) len += strlen(s->items[rep[i]].context) + 2;
    len += strlen(s->items[gold].context) + 2;
    char *out = cl_malloc(len), *o = out;
    for (int i = 0; i <= used; i++) {
        const char *p = i == at ? s->items[gold].context : s->items[rep[i < at ? i : i - 1]].context;
        if (o != out) {
            memcpy(o, "\n\n", 2);
            o += 2;
        }
        size_t l = strlen(p);
        memcpy(o, p, l);
        o += l;
    }
    *o = 0;
    *est_tokens = tokens;
    free(rep);
    free(seen);
    return out;
}
