/* chat.h — the common chat-prompt formats, recognised from a model's Jinja template string.
 * We do not run Jinja: we detect which well-known format the template writes and render a
 * one-turn prompt ourselves (system? + user + assistant header):
 *   ChatML  (Qwen, SmolLM):  <|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n
 *   Llama 3:                 <|start_header_id|>user<|end_header_id|>\n\n...<|eot_id|>...
 *   Llama 2:                 [INST] ... [/INST]            (a template with <<SYS>>)
 *   Mistral:                 [INST] ... [/INST]  (v0.1/v0.2) or [INST] ...[/INST] (v0.3's tight form)
 *   Gemma:                   <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n
 * anything else (or no template) is plain completion.  Render with CL_TOK_SPECIAL so the
 * markers become their special tokens. */
#ifndef CL_CHAT_H
#define CL_CHAT_H

typedef enum {
    CL_CHAT_NONE = 0, CL_CHAT_CHATML, CL_CHAT_LLAMA3, CL_CHAT_LLAMA2, CL_CHAT_MISTRAL, CL_CHAT_GEMMA
} cl_chat_kind;

typedef struct {
    cl_chat_kind kind;
    char *system;   /* default system message the template inserts when none is given, or NULL */
    int tight;      /* Mistral v0.3: no space before [/INST] */
} cl_chat;

/* Detect the format of tmpl (NULL: none).  Fills c (free with cl_chat_free). */
void cl_chat_detect(cl_chat *c, const char *tmpl);
void cl_chat_free(cl_chat *c);
const char *cl_chat_name(cl_chat_kind k);  /* "none", "chatml", "llama3", "llama2", "mistral", "gemma" */
/* Text before the user's message (system turn included) and after it (end of the user turn and
 * the assistant's header), malloc'd.  The user message goes in between. */
char *cl_chat_prefix(const cl_chat *c);
char *cl_chat_suffix(const cl_chat *c);
/* prefix + user + suffix, malloc'd. */
char *cl_chat_render(const cl_chat *c, const char *user);
/* Whether the prompt starts with the model's BOS token (Llama 2/3, Mistral, Gemma do; ChatML not). */
int cl_chat_wants_bos(const cl_chat *c);
/* The token piece that ends the assistant's turn ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"), or NULL when
 * the model's EOS does. */
const char *cl_chat_end_of_turn(const cl_chat *c);

#endif
