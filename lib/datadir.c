/* datadir.c — installed data lookup (see datadir.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "datadir.h"
#include "util.h"

int cl_data_dirs(char *dirs[2]) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0;   /* .../bin */
    static const char *const rel[] = {"/../share/compllm", "/../models"};
    int k = 0;
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(exe) + strlen(rel[i]) + 1;
        char *d = cl_malloc(len), *real;
        snprintf(d, len, "%s%s", exe, rel[i]);
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode) && (real = realpath(d, NULL))) {
            free(d);
            d = real;
        } else {
            free(d);
            continue;
        }
        dirs[k++] = d;
    }
    return k;
}

char *cl_data_find(const char *name) {
    char *dirs[2], *found = NULL;
    int n = cl_data_dirs(dirs);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dirs[i]) + strlen(name) + 2;
        char *p = cl_malloc(len);
        snprintf(p, len, "%s/%s", dirs[i], name);
        if (!found && access(p, R_OK) == 0) found = p;
        else free(p);
        free(dirs[i]);
    }
    return found;
}
