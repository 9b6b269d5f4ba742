/* fuzz_hf_config.c — libFuzzer target for the Hugging Face config.json parser: any bytes parse to
 * a valid config or fail cleanly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("config.json", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cl_config c;
    if (cl_hf_config_load(path, &c) == 0 && cl_config_validate(&c)) abort();
    close(fd);
    return 0;
}
