/* stop.c — stop ids of generation (see stop.h). */
#include "stop.h"

int cl_is_stop(const int *ids, int n, int id) {
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static void add(int *out, int *n, int id) {
    if (id >= 0 && *n < CL_STOP_MAX && !cl_is_stop(out, *n, id)) out[(*n)++] = id;
}

int cl_stop_ids(const cl_config *c, const cl_tokenizer *tok, const cl_chat *chat, int *out) {
    int n = 0, eos = tok ? cl_tokenizer_eos(tok) : -1;
    add(out, &n, eos >= 0 ? eos : c->eos_id);
    for (int i = 0; i < c->n_stop; i++) add(out, &n, c->stop_ids[i]);
    const char *eot = chat ? cl_chat_end_of_turn(chat) : NULL;
    if (eot && tok) add(out, &n, cl_tokenizer_find(tok, eot));
    return n;
}
