/* test_atomic_out.c — cl_atomic: whole-or-absent regular files, and everything else (devices,
 * FIFOs, symlinks, directories) left what it was; write errors name the path and errno. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "t.h"
#include "util.h"

static int write_str(const char *path, const char *text) {
    cl_atomic a;
    if (cl_atomic_open(&a, path) < 0) return -1;
    fputs(text, a.f);
    return cl_atomic_commit(&a);
}

static int has(const char *path, const char *text) {
    char *buf;
    size_t n;
    if (cl_read_file(path, &buf, &n) < 0) return 0;
    int ok = n == strlen(text) && !memcmp(buf, text, n);
    free(buf);
    return ok;
}

/* no "*.tmp.*" file left in dir */
static int no_temps(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '*.tmp.*')\"", dir);
    return system(cmd) == 0;
}

/* A child that starts replacing path, writes part of it and dies of sig; its wait status. */
static int killed_mid_write(const char *path, int sig) {
    pid_t k = fork();
    if (k == 0) {
        cl_atomic b;
        if (cl_atomic_open(&b, path) < 0) _exit(2);
        fputs("partial", b.f);
        fflush(b.f);
        raise(sig);
        _exit(5);
    }
    int ws = 0;
    waitpid(k, &ws, 0);
    return ws;
}

int main(void) {
    char cmd[1200];
    const char *dir = t_tmp("atomic");
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/sub", dir, dir);
    OK(system(cmd) == 0, "fresh %s", dir);
    char p[600], q[600], r[600];

    /* regular files */
    snprintf(p, sizeof p, "%s/plain", dir);
    OK(write_str(p, "one\n") == 0 && has(p, "one\n"), "new file written");
    chmod(p, 0640);
    OK(write_str(p, "two\n") == 0 && has(p, "two\n"), "existing file replaced");
    struct stat st;
    OK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "its mode kept");
    cl_atomic a;
    OK(cl_atomic_open(&a, p) == 0, "open for an abort");
    fputs("half", a.f);
    cl_atomic_abort(&a);
    OK(has(p, "two\n") && no_temps(dir), "abort: old content, no temp file");

    /* symlinks: the target is written (atomically, beside it), the link stays a link */
    snprintf(q, sizeof q, "%s/sub/target", dir);
    OK(write_str(q, "old\n") == 0, "target made");
    snprintf(r, sizeof r, "%s/link", dir);
    OK(symlink("sub/target", r) == 0, "relative symlink made");
    snprintf(p, sizeof p, "%s/link2", dir);
    OK(symlink("link", p) == 0, "a link to the link");
    OK(write_str(p, "new\n") == 0, "write through two links");
    OK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && lstat(r, &st) == 0 && S_ISLNK(st.st_mode), "both links still links");
    OK(has(q, "new\n"), "the target has the new content");
    snprintf(q, sizeof q, "%s/dangling", dir);
    OK(symlink("sub/created", q) == 0, "dangling link made");
    snprintf(r, sizeof r, "%s/sub/created", dir);
    OK(write_str(q, "c\n") == 0 && has(r, "c\n") && lstat(q, &st) == 0 && S_ISLNK(st.st_mode),
       "a dangling link: its target is created, the link kept");
    snprintf(q, sizeof q, "%s/loop1", dir);
    snprintf(r, sizeof r, "%s/loop2", dir);
    OK(symlink("loop2", q) == 0 && symlink("loop1", r) == 0, "a symlink loop made");
    int loop_rc = write_str(q, "x");
    OK(loop_rc < 0 && strstr(cl_error(), strerror(ELOOP)) && lstat(q, &st) == 0 && S_ISLNK(st.st_mode),
       "a symlink loop is an error, and stays a link: %s", cl_error());
    OK(no_temps(dir), "no temp files after the links");

    /* a FIFO is written, not replaced */
    snprintf(p, sizeof p, "%s/fifo", dir);
    OK(mkfifo(p, 0666) == 0, "FIFO made");
    snprintf(cmd, sizeof cmd, "cat %s > %s/fifo.out", p, dir);
    pid_t reader = fork();
    if (reader == 0) _exit(system(cmd) == 0 ? 0 : 1);
    alarm(20);
    OK(write_str(p, "through the pipe\n") == 0, "write to the FIFO");
    int ws;
    waitpid(reader, &ws, 0);
    alarm(0);
    snprintf(q, sizeof q, "%s/fifo.out", dir);
    OK(has(q, "through the pipe\n"), "the reader got the bytes");
    OK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");

    /* a character device: our own null device when root may make one, else /dev/null */
    snprintf(p, sizeof p, "%s/null", dir);
    const char *dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0 ? p : "/dev/null";
    struct stat before;
    stat(dev, &before);
    OK(write_str(dev, "gone\n") == 0, "write to %s", dev);
    OK(stat(dev, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == before.st_rdev && st.st_ino == before.st_ino,
       "%s is still the same character device", dev);

    /* a directory is refused */
    snprintf(p, sizeof p, "%s/sub", dir);
    int dir_rc = cl_atomic_open(&a, p);
    OK(dir_rc < 0 && strstr(cl_error(), "is a directory") && strstr(cl_error(), p), "directory: %s", cl_error());

    /* a name near NAME_MAX still gets a temp name that fits */
    char longname[256];
    memset(longname, 'n', 250);
    longname[250] = 0;
    snprintf(p, sizeof p, "%s/%s", dir, longname);
    OK(write_str(p, "long\n") == 0 && has(p, "long\n"), "250-byte file name");

    /* a full device: the error names the path and errno */
    /* (as root our own node: a broken build must not replace the machine's /dev/full) */
    snprintf(q, sizeof q, "%s/full", dir);
    const char *full = mknod(q, S_IFCHR | 0666, makedev(1, 7)) == 0 ? q : "/dev/full";
    if (access(full, W_OK) == 0) {
        int full_rc = write_str(full, "x");
        OK(full_rc < 0 && strstr(cl_error(), full) && strstr(cl_error(), strerror(ENOSPC)), "%s", cl_error());
    } else {
        SKIP("no writable /dev/full");
    }

    /* a file-size limit (a disk filling up): commit fails, old content kept, no temp file */
    snprintf(p, sizeof p, "%s/big", dir);
    write_str(p, "small\n");
    pid_t k = fork();
    if (k == 0) {
        struct rlimit rl = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &rl);
        cl_atomic b;
        if (cl_atomic_open(&b, p) < 0) _exit(2);
        for (int i = 0; i < 10000; i++) fputs("0123456789", b.f);
        if (cl_atomic_check(&b) == 0) _exit(3);
        int ok = cl_atomic_commit(&b) < 0 && strstr(cl_error(), p) && strstr(cl_error(), strerror(EFBIG));
        fprintf(stderr, "# %s\n", cl_error());
        _exit(ok ? 0 : 4);
    }
    waitpid(k, &ws, 0);
    OK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "EFBIG: a write error naming the path and errno (status %d)", ws);
    OK(has(p, "small\n") && no_temps(dir), "old content kept, no temp file");

    /* killed by SIGTERM mid-write: the temp file is removed, the old file kept */
    ws = killed_mid_write(p, SIGTERM);
    OK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM, "child died of SIGTERM");
    OK(has(p, "small\n") && no_temps(dir), "after SIGTERM: old content, no temp file");
    /* kill -9 cannot be caught: the old file is still whole (the temp file may stay) */
    ws = killed_mid_write(p, SIGKILL);
    OK(has(p, "small\n"), "after SIGKILL: old content whole");

    OK(write_str("-", "") == 0, "\"-\" is stdout");
    return t_done();
}
