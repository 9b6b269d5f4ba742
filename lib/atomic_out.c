/* atomic_out.c — output files that are whole or absent; see cl_atomic in util.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

/* ---- temp files removed when a signal ends the process ---- */
#define N_SLOTS 16
static struct {
    volatile sig_atomic_t used;
    char tmp[PATH_MAX + 64];
} slots[N_SLOTS];

static void on_signal(int sig) {
    for (int i = 0; i < N_SLOTS; i++)
        if (slots[i].used) unlink(slots[i].tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Install h for sig unless the program already handles or ignores it. */
static void default_to(int sig, void (*h)(int)) {
    struct sigaction old;
    if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
        signal(sig, h);
}

static int slot_take(const char *tmp) {
    static int installed;
    if (!installed) {
        installed = 1;
        default_to(SIGINT, on_signal);
        default_to(SIGTERM, on_signal);
        default_to(SIGHUP, on_signal);
    }
    if (strlen(tmp) >= sizeof slots[0].tmp) return -1;
    for (int i = 0; i < N_SLOTS; i++)
        if (!slots[i].used) {
            memcpy(slots[i].tmp, tmp, strlen(tmp) + 1);
            slots[i].used = 1;
            return i;
        }
    return -1;   /* more than N_SLOTS open outputs: still atomic, only not removed on a signal */
}

static void slot_free(int i) {
    if (i >= 0) slots[i].used = 0;
}

/* ---- a FILE that remembers the errno of its first failed write ---- */
typedef struct { int fd, err; } sink;

static ssize_t sink_write(void *c, const char *buf, size_t n) {
    sink *k = c;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(k->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!k->err) k->err = w < 0 ? errno : ENOSPC;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int sink_close(void *c) {   /* the sink itself is freed with the cl_atomic */
    sink *k = c;
    int rc = close(k->fd);
    if (rc < 0 && !k->err) k->err = errno;
    return rc;
}

static FILE *sink_open(int fd, sink **out) {
    sink *k = cl_calloc(1, sizeof *k);
    k->fd = fd;
    FILE *f = fopencookie(k, "w", (cookie_io_functions_t){.write = sink_write, .close = sink_close});
    if (!f) {
        free(k);
        return NULL;
    }
    *out = k;
    return f;
}

/* ---- resolving where the bytes go ---- */

/* Follow a chain of symlinks from path to the name of what is finally written (which may not
 * exist yet).  Relative link targets are relative to the link's directory. */
static char *final_name(const char *path) {
    char *p = cl_strdup(path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(p, &st) < 0 || !S_ISLNK(st.st_mode)) return p;
        char target[PATH_MAX];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0) return p;
        target[n] = 0;
        char *next;
        const char *slash = strrchr(p, '/');
        if (target[0] == '/' || !slash) {
            next = cl_strdup(target);
        } else {
            size_t d = (size_t)(slash - p) + 1;
            next = cl_malloc(d + (size_t)n + 1);
            memcpy(next, p, d);
            memcpy(next + d, target, (size_t)n + 1);
        }
        free(p);
        p = next;
    }
    return p;   /* a loop: open() reports ELOOP */
}

static int open_file(cl_atomic *a, const char *path, int replace) {
    memset(a, 0, sizeof *a);
    a->slot = -1;
    if (!strcmp(path, "-")) {
        a->f = stdout;
        return 0;
    }
    default_to(SIGXFSZ, SIG_IGN);
    char *dest = replace ? cl_strdup(path) : final_name(path);
    struct stat st;
    if (!replace && lstat(dest, &st) == 0 && S_ISLNK(st.st_mode)) {   /* still a link: a loop */
        free(dest);
        return cl_fail("%s: %s", path, strerror(ELOOP));
    }
    int exists = stat(dest, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        free(dest);
        return cl_fail("%s: is a directory", path);
    }
    int fd;
    if (exists && !S_ISREG(st.st_mode) && !replace) {
        /* a FIFO or device: write to it, never rename over it */
        fd = open(dest, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            int e = errno;
            free(dest);
            return cl_fail("%s: %s", path, strerror(e));
        }
        a->path = dest;
    } else {
        static unsigned seq;
        const char *slash = strrchr(dest, '/');
        size_t base = strlen(slash ? slash + 1 : dest), keep = strlen(dest) - (base > 200 ? base - 200 : 0);
        size_t n = keep + 64;
        a->tmp = cl_malloc(n);
        for (;;) {
            snprintf(a->tmp, n, "%.*s.tmp.%ld.%u", (int)keep, dest, (long)getpid(), seq++);
            fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd >= 0 || errno != EEXIST) break;
        }
        if (fd < 0) {
            int e = errno;
            free(dest);
            free(a->tmp);
            a->tmp = NULL;
            return cl_fail("%s: %s", path, strerror(e));
        }
        if (exists && S_ISREG(st.st_mode)) (void)fchmod(fd, st.st_mode & 07777);
        a->path = dest;
        a->slot = slot_take(a->tmp);
    }
    sink *k = NULL;
    a->f = sink_open(fd, &k);
    if (!a->f) {
        int e = errno;
        close(fd);
        cl_atomic_abort(a);
        return cl_fail("%s: %s", path, strerror(e));
    }
    a->sink = k;
    return 0;
}

int cl_atomic_open(cl_atomic *a, const char *path) { return open_file(a, path, 0); }
int cl_atomic_open_replace(cl_atomic *a, const char *path) { return open_file(a, path, 1); }

static const char *name(const cl_atomic *a) { return a->path ? a->path : "stdout"; }

/* errno of the first failed write to a->f, else fallback */
static int write_errno(const cl_atomic *a, int fallback) {
    const sink *k = a->sink;
    return k && k->err ? k->err : fallback;
}

/* stdout failed: the errno of flushing it again (else of the failure just seen, else EIO), and
 * nothing left to fail again at exit */
static int stdout_errno(int seen) {
    errno = 0;
    fflush(stdout);
    int e = errno ? errno : seen ? seen : EIO;
    __fpurge(stdout);
    clearerr(stdout);
    return e;
}

int cl_atomic_check(cl_atomic *a) {
    int seen = errno;   /* the caller's failed fwrite, usually */
    if (!a->f || !ferror(a->f)) return 0;
    return cl_fail("%s: write error: %s", name(a), strerror(a->path ? write_errno(a, EIO) : stdout_errno(seen)));
}

int cl_atomic_write(cl_atomic *a, const void *p, size_t n) {
    if (fwrite(p, 1, n, a->f) == n) return 0;
    if (cl_atomic_check(a) == 0) cl_fail("%s: write error", name(a));
    return -1;
}

static void release(cl_atomic *a) {
    slot_free(a->slot);
    free(a->path);
    free(a->tmp);
    free(a->sink);
    a->f = NULL;
    a->path = a->tmp = NULL;
    a->sink = NULL;
    a->slot = -1;
}

int cl_atomic_commit(cl_atomic *a) {
    if (!a->path) {   /* stdout: reported here once, not again when the process exits */
        errno = 0;
        if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
        return cl_fail("stdout: write error: %s", strerror(stdout_errno(errno)));
    }
    int rc = 0;
    errno = 0;
    if (fflush(a->f) != 0 || ferror(a->f))
        rc = cl_fail("%s: write error: %s", name(a), strerror(write_errno(a, errno ? errno : EIO)));
    const sink *k = a->sink;
    if (rc == 0 && a->tmp && fsync(k->fd) != 0 && errno != EINVAL)
        rc = cl_fail("%s: fsync: %s", a->path, strerror(errno));
    int ce = fclose(a->f) != 0 ? write_errno(a, errno) : 0;
    if (ce && rc == 0) rc = cl_fail("%s: close: %s", a->path, strerror(ce));
    if (a->tmp) {
        if (rc == 0 && rename(a->tmp, a->path) != 0) rc = cl_fail("%s: rename: %s", a->path, strerror(errno));
        if (rc != 0) unlink(a->tmp);
    }
    release(a);
    return rc;
}

void cl_atomic_abort(cl_atomic *a) {
    if (!a->path) return;
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    release(a);
}
