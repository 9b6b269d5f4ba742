/* stop.h — the token ids that end a generated answer.
 *
 * The tokenizer's EOS (else the config's eos_id), every id of the config's stop list (HF
 * eos_token_id lists in config.json and generation_config.json; GGUF eos/eot/eom ids), and the
 * chat format's end-of-turn token: duplicates and -1 left out. */
#ifndef CL_STOP_H
#define CL_STOP_H
#include "chat.h"
#include "config.h"
#include "tokenizer.h"

enum { CL_STOP_MAX = CL_MAX_STOP + 2 };

/* Fills out [CL_STOP_MAX]; returns how many.  out[0] is the primary EOS when there is one. */
int cl_stop_ids(const cl_config *c, const cl_tokenizer *tok, const cl_chat *chat, int *out);
/* 1 if id is one of ids[0..n-1]. */
int cl_is_stop(const int *ids, int n, int id);

#endif
