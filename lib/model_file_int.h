/* model_file_int.h — what the format loaders (model_hf.c, model_gguf.c, model_llama2c.c) share
 * with the dispatcher model_file.c.  Not for tools. */
#ifndef CL_MODEL_FILE_INT_H
#define CL_MODEL_FILE_INT_H
#include "model_file.h"
#include "safetensors.h"
#include "util.h"

struct cl_model_file {
    cl_format fmt;
    char *path;
    cl_config cfg;
    int n_t, cap_t;
    cl_tensor *t;   /* canonical names (owned), data in a mapping owned below */
    int *sorted;    /* indices by name */
    cl_gguf *gguf;
    cl_safetensors **shards;
    int n_shards;
    cl_map map;     /* llama2.c checkpoint */
    char *tok_json, *tok_bin, *chat_template;
    int stored_interleaved;   /* the file's Q/K rows are for interleaved RoPE (see to_rotate_half) */
    void **owned;   /* tensor data copied out of the file (Q/K rows in the rotate-half order) */
    int n_owned;
    int refs;       /* holders besides the opener (cl_model_file_retain) */
};

/* Add a tensor under a canonical name (the name is copied; data stays where src points). */
void cl_mf_add(cl_model_file *mf, const char *name, const cl_tensor *src);
int cl_mf_open_hf(cl_model_file *mf, const char *dir);
int cl_mf_open_gguf(cl_model_file *mf, const char *path);
int cl_mf_open_llama2c(cl_model_file *mf, const char *path);
int cl_path_exists(const char *path);
char *cl_path_join(const char *dir, const char *name); /* malloc'd */

#endif
