/* test_oom.c — an allocation failure names the oom context (cl_oom_context, util.h). */
#include <string.h>
#include <sys/wait.h>
#include "t.h"
#include "util.h"

/* under ASan a failed malloc must return NULL, as it does in a normal build */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* Runs cl_malloc(n) in a child with context ctx (NULL: none); its stderr into msg, exit status back. */
static int child_alloc(const char *ctx, size_t n, char *msg, size_t cap) {
    int fd[2];
    if (pipe(fd)) return -1;
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        cl_set_progname("cl-test");
        cl_oom_context("%s", "set then cleared");
        cl_oom_context(NULL);
        if (ctx) cl_oom_context("%s: line %d: segmenting", ctx, 7);
        void *p = cl_malloc(n);
        free(p);
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = read(fd[0], msg + got, cap - 1 - got)) > 0) got += (size_t)r;
    msg[got] = 0;
    close(fd[0]);
    int st;
    waitpid(k, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The tool's own message, past any "==PID==WARNING: AddressSanitizer failed to allocate" lines
 * an ASan build prints before malloc returns NULL. */
static const char *own_message(const char *msg) {
    while (msg[0] == '=' && msg[1] == '=') {
        const char *nl = strchr(msg, '\n');
        if (!nl) break;
        msg = nl + 1;
    }
    return msg;
}

int main(void) {
    char msg[1024];
    size_t huge = (size_t)1 << 62;
    int rc = child_alloc("d.jsonl", huge, msg, sizeof msg);
    OK(rc == 1, "a failed allocation exits 1 (got %d)", rc);
    OK(strstr(msg, "cl-test: d.jsonl: line 7: segmenting: out of memory (4611686018427387904 bytes)") == own_message(msg),
       "the message names the context and the size: %s", msg);
    rc = child_alloc(NULL, huge, msg, sizeof msg);
    OK(rc == 1 && strcmp(own_message(msg), "cl-test: out of memory (4611686018427387904 bytes)\n") == 0,
       "a cleared context is not named: %s", msg);
    rc = child_alloc("d.jsonl", 16, msg, sizeof msg);
    OK(rc == 0 && msg[0] == 0, "a small allocation succeeds silently");
    return t_done();
}
