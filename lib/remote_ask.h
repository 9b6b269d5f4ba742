/* remote_ask.h — answer a cl-ask prompt (prompt.h) on an OpenAI-compatible server instead of
 * the local model.  The prompt is the one cl_prompt_build lays out, sent as
 *   - "prompt_embeds": when some piece is embeddings (CEs): the whole prompt as the model's
 *     input embeddings [positions, dim] (cl_prompt_embeddings: token pieces become rows of the
 *     model file's token-embedding table; the model's weights are not loaded), saved in torch.save's format (torch_save.h) and
 *     base64-encoded, the input vLLM takes with --enable-prompt-embeds (docs/features/
 *     prompt_embeds.md; loaded by torch.load(weights_only=True), squeezed to 2-D, cast to the
 *     served model's dtype, no chat template applied);
 *   - "prompt": [token ids] otherwise (a text context or none): the same tokens, nothing
 *     re-tokenized, no BOS added by the server.
 * Before sending: GET /v1/models picks the model (the only one served, or `model`, which must
 * be served) and, when the server reports max_model_len (vLLM does), refuses a prompt that
 * does not fit it.  After: a server that reports usage.prompt_tokens other than the positions
 * sent has not read the embeddings (a server without prompt-embeds support): an error. */
#ifndef CL_REMOTE_ASK_H
#define CL_REMOTE_ASK_H
#include "model_file.h"
#include "prompt.h"
#include "remote.h"
#include "stop.h"
#include "tensor.h"

typedef struct {
    cl_remote server;
    const char *model;        /* served model name, or NULL: the server's only one */
    cl_dtype dtype;           /* of the embeddings sent: CL_F32, CL_BF16 or CL_F16 */
    int max_tokens;
    double temperature, top_p;
    unsigned long long seed;
    int stop_ids[CL_STOP_MAX]; /* token ids that end the answer, as locally (-1: none) */
} cl_remote_ask_opts;

typedef struct {
    char model[256];          /* the served model asked */
    int positions;            /* prompt positions sent */
    int as_embeddings;        /* 1: prompt_embeds, 0: token ids */
    size_t payload_bytes;     /* torch.save archive (embeddings) or 0 */
    size_t body_bytes;        /* JSON request body */
    double prepare_s;         /* building the request: embeddings, torch.save, base64, JSON */
    cl_remote_stream stream;  /* times from the request on; see remote.h */
    double ttft_s;            /* prepare + time to the first answer byte */
} cl_remote_ask_stats;

/* Streams the answer's text through on_text (return non-zero to stop).  0, or -1 (cl_error). */
int cl_remote_ask(const cl_remote_ask_opts *o, const cl_prompt *pr, const cl_model_file *mf,
                  int (*on_text)(void *ctx, const char *text, size_t n), void *ctx, cl_remote_ask_stats *st);

#endif
