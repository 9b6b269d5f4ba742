/* hub.h — models from the Hugging Face Hub: its local cache, as huggingface_hub lays it out, and
 * `cl-model pull` over libcurl.
 *
 * A model reference is ORG/NAME[@REVISION][:QUANT] (REVISION a branch, tag or 40-hex commit,
 * default "main"; QUANT picks one .gguf of a GGUF repository, as llama.cpp's `-hf org/repo:quant`).
 *
 * Cache (the same directory huggingface_hub, huggingface-cli and @huggingface/hub use):
 *   $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 *   ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub, holding for each model
 *   models--ORG--NAME/blobs/<etag>                   file contents, named by ETag (sha256 for LFS
 *                                                    files, git blob sha1 otherwise)
 *   models--ORG--NAME/snapshots/<commit>/<path>      relative symlinks ../../blobs/<etag>
 *   models--ORG--NAME/refs/<revision>                the commit the revision pointed to
 *   .locks/models--ORG--NAME/<etag>.lock             flock()ed while a blob is downloaded
 * Network: $HF_ENDPOINT (default https://huggingface.co), token $HF_TOKEN else the file
 * $HF_TOKEN_PATH else $HF_HOME/token, $HF_HUB_OFFLINE=1 forbids any request,
 * $HF_HUB_ETAG_TIMEOUT / $HF_HUB_DOWNLOAD_TIMEOUT (seconds, default 10). */
#ifndef CL_HUB_H
#define CL_HUB_H
#include <stdio.h>

typedef struct {
    char *org, *name;   /* "ORG", "NAME" */
    char *repo;         /* "ORG/NAME" */
    char *revision;     /* "main" unless @REV was given */
    char *quant;        /* :QUANT or NULL */
} cl_hub_ref;

/* 1 when s has the syntax of a reference (ORG and NAME of [A-Za-z0-9._-], no "--" or "..",
 * at most 96 characters), whether or not such a model exists.  A path that exists on disk is a
 * path, never a reference: callers check that first. */
int cl_hub_is_ref(const char *s);
/* Parse s into r (0), or -1 + cl_error().  Free with cl_hub_ref_free. */
int cl_hub_ref_parse(const char *s, cl_hub_ref *r);
void cl_hub_ref_free(cl_hub_ref *r);

/* The cache directory (malloc'd; never NULL: falls back to ./.cache/huggingface/hub without $HOME). */
char *cl_hub_cache_dir(void);
/* <cache>/models--ORG--NAME (malloc'd). */
char *cl_hub_repo_dir(const cl_hub_ref *r);
/* 1 when $HF_HUB_OFFLINE is 1/ON/YES/TRUE (any case). */
int cl_hub_offline(void);

/* The local path a reference resolves to, offline: the snapshot directory of the revision's
 * commit (refs/<rev>, or the commit itself), or with :QUANT — or when the snapshot has no
 * config.json but exactly one .gguf — that .gguf file.  malloc'd; NULL + cl_error() saying how
 * to pull the model when it is not in the cache. */
char *cl_hub_resolve(const char *ref);

/* What `cl-model pull` fetches: include globs (fnmatch on the repository path; NULL/0: config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, *.safetensors and
 * model.safetensors.index.json; or, for a repository without safetensors, its one .gguf), gguf:
 * a quant name choosing one .gguf (as :QUANT), progress: draw a progress bar on stderr. */
typedef struct {
    const char *const *include;
    int n_include;
    const char *gguf;
    int progress;
} cl_hub_pull_opts;

/* Download what the reference needs into the cache (files already there are not fetched again)
 * and return cl_hub_resolve's path for it (malloc'd), or NULL + a one-line cl_error(). */
char *cl_hub_pull(const char *ref, const cl_hub_pull_opts *o);

/* The getopt code of every tool's --pull option (no_argument), outside the tools' own codes. */
#define CL_OPT_PULL 0x7075
/* Whether cl_hub_model_path may download (the tools' --pull); default 0. */
void cl_hub_set_pull(int allow);
/* For a model argument that does not exist on disk but is a reference: cl_hub_resolve, or, with
 * cl_hub_set_pull(1), cl_hub_pull when it is not cached. */
char *cl_hub_model_path(const char *ref);

/* `cl-model list`: every cached model repository, one line each (ORG/NAME, revisions -> commit,
 * size of its blobs, snapshot path). 0, or -1 + cl_error() when the cache cannot be read. */
int cl_hub_list(FILE *out);

/* Protocol pieces, exposed for the unit tests and the fuzzer (tests/fuzz/fuzz_hub.c):
 * the model-info JSON ({"sha": 40 characters, "siblings": [{"rfilename": ...}]}) into the commit
 * and the file names (malloc'd; 0, or -1 + cl_error()); an ETag header as huggingface_hub's
 * _normalize_etag reads it (weak "W/" prefix and quotes dropped), NULL unless the result is 1-128
 * characters of [A-Za-z0-9_-] (it names a file). */
int cl_hub_parse_model_info(const char *body, char **commit, char ***files, int *n_files);
char *cl_hub_normalize_etag(const char *etag);

#endif
