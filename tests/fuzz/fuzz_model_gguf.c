/* fuzz_model_gguf.c — libFuzzer target for model-level GGUF loading (architecture keys, config
 * validation, shape checks against the config): the input is a GGUF file, opened through
 * cl_model_file_open via a memfd.  It opens or fails cleanly; what opens has a valid config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4 || data[0] != 'G' || data[1] != 'G' || data[2] != 'U' || data[3] != 'F') return 0;
    int fd = memfd_create("fuzz.gguf", 0);
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
