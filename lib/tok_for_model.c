/* tok_for_model.c — the tokenizer that comes with a model, whatever its layout. */
#include "model_file.h"
#include "tok_internal.h"
#include "util.h"

cl_tokenizer *cl_tokenizer_for_model(const cl_model_file *mf) {
    const cl_gguf *g = cl_model_file_gguf(mf);
    if (g) return cl_tokenizer_from_gguf(g);
    const char *p = cl_model_file_tokenizer_json(mf);
    if (p) return cl_tokenizer_from_json(p);
    p = cl_model_file_tokenizer_bin(mf);
    if (p) return cl_tokenizer_from_llama2c(p, cl_model_file_config(mf)->n_vocab);
    cl_fail("%s: the model has no tokenizer", cl_model_file_path(mf));
    return NULL;
}
