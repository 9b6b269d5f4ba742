/* bench_tokenizer.c — encoding speed: bench_tokenizer TEXT_FILE tokenizer.json... prints MB/s
 * and tokens/s per tokenizer (whole file in one encode call, best of 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer.h"
#include "util.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: bench_tokenizer TEXT_FILE TOKENIZER...\n"); return 2; }
    char *text;
    size_t len;
    if (cl_read_file(argv[1], &text, &len)) cl_die("%s", cl_error());
    for (int a = 2; a < argc; a++) {
        size_t l = strlen(argv[a]);
        cl_tokenizer *t = l > 4 && !strcmp(argv[a] + l - 4, ".bin") ? cl_tokenizer_from_llama2c(argv[a], 0)
                                                                   : cl_tokenizer_from_json(argv[a]);
        if (!t) cl_die("%s", cl_error());
        double best = 1e9;
        size_t n = 0;
        for (int r = 0; r < 3; r++) {
            int32_t *ids;
            double t0 = cl_now();
            if (cl_tokenizer_encode(t, text, len, 0, &ids, &n)) cl_die("%s", cl_error());
            double dt = cl_now() - t0;
            if (dt < best) best = dt;
            free(ids);
        }
        printf("%-60s %.1f MB: %6.1f MB/s, %8.0f tokens/s (%zu tokens)\n", argv[a], len / 1e6, len / 1e6 / best,
               n / best, n);
        cl_tokenizer_free(t);
    }
    free(text);
    return 0;
}
