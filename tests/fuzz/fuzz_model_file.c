/* fuzz_model_file.c — libFuzzer target for model-level loading of single-file models: a GGUF
 * (architecture keys, config validation, shape checks) or else a llama2.c checkpoint (header,
 * exact size), opened through cl_model_file_open via a memfd.  It opens or fails cleanly; what
 * opens has a valid config and its token embedding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz-model", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cl_model_file *mf = cl_model_file_open(path);
    if (mf) {
        if (cl_config_validate(cl_model_file_config(mf))) abort();
        if (!cl_model_file_tensor(mf, "token_embd.weight")) abort();
        uint8_t fp[32];
        cl_model_file_fingerprint(mf, fp);
        cl_model_file_close(mf);
    }
    close(fd);
    return 0;
}
