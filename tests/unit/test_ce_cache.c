/* test_ce_cache.c — segment cache: hits, misses, corrupt entries, concurrent writers, FIFOs in
 * the cache, read-only and full caches (warn once, carry on). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ce_cache.h"
#include "t.h"
#include "util.h"

enum { D = 16, COUNT = 3, KEYS = 40 };

static void meta_for(int key, const uint8_t comp[32], cl_ce_meta *m) {
    memset(m, 0, sizeof *m);
    m->dim = D;
    m->count = COUNT;
    m->dtype = CL_F16;   /* the cache must store f32 whatever the output type */
    memcpy(m->comp_fp, comp, 32);
    int32_t ids[2] = {key, 7 * key + 1};
    cl_ce_content_hash(ids, 2, m->content_hash);
}

static void values(int key, float *e) {
    for (int i = 0; i < D * COUNT; i++) e[i] = (float)key + (float)i / 3.0f + 1e-7f * (float)i;
}

/* The entry file of m in dir (the one entry there). */
static void entry_file(const char *dir, char *out, size_t n) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find %s -name '*.ce' | head -1", dir);
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    if (p && fgets(out, (int)n, p)) out[strcspn(out, "\n")] = 0;
    if (p) pclose(p);
}

/* In a child that cannot write dir (nobody when we are root, else plain chmod): open the cache at
 * path, get/put three keys.  Exit status: 0 when the first put fails with a message naming the
 * cache, the next two are skipped (0), gets miss, and nothing hangs. */
static int unwritable_run(const char *path, int fsize_limit) {
    pid_t k = fork();
    if (k == 0) {
        alarm(20);
        if (fsize_limit) {
            struct rlimit rl = {64, 64};   /* a "full disk": writes past 64 bytes fail (EFBIG) */
            setrlimit(RLIMIT_FSIZE, &rl);
        } else if (geteuid() == 0 && (setgid(65534) || setuid(65534))) {
            _exit(10);
        }
        cl_ce_cache *c = cl_ce_cache_open(path);
        if (!c) _exit(11);
        uint8_t comp[32];
        memset(comp, 0x77, 32);
        int fails = 0, skipped = 0, misses = 0;
        for (int key = 100; key < 103; key++) {
            cl_ce_meta m;
            float e[D * COUNT], got[D * COUNT];
            meta_for(key, comp, &m);
            values(key, e);
            misses += cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 0;
            int rc = cl_ce_cache_put(c, &m, e);
            if (rc < 0) {
                fails++;
                fprintf(stderr, "# warning: %s\n", cl_error());
                if (!strstr(cl_error(), "cache")) _exit(12);
            }
        }
        skipped = (int)cl_ce_cache_get_stats(c).skipped;
        cl_ce_cache_close(c);
        _exit(fails == 1 && skipped == 2 && misses == 3 ? 0 : 13);
    }
    int st;
    if (k < 0 || waitpid(k, &st, 0) != k) return 99;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void) {
    const char *dir = t_tmp("cache/sub");
    uint8_t comp[32], other[32];
    memset(comp, 0x5C, 32);
    memset(other, 0x5D, 32);
    cl_ce_cache *c = cl_ce_cache_open(dir);
    OK(c != NULL, "open creates %s", dir);
    float e[D * COUNT], got[D * COUNT];
    cl_ce_meta m;
    meta_for(1, comp, &m);
    values(1, e);
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 0, "empty cache: miss");
    OK(cl_ce_cache_put(c, &m, e) == 0, "put");
    memset(got, 0, sizeof got);
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 1 && !memcmp(got, e, sizeof e),
       "hit returns the exact floats (stored f32)");
    OK(cl_ce_cache_get(c, other, m.content_hash, D, COUNT, got) == 0, "other compressor: miss");
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT + 1, got) == 0, "other shape: miss");
    cl_ce_meta m2;
    meta_for(2, comp, &m2);
    OK(cl_ce_cache_get(c, m2.comp_fp, m2.content_hash, D, COUNT, got) == 0, "other segment: miss");

    /* corrupt the entry: a miss, counted; the next put repairs it */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "f=$(find %s -name '*.ce' | head -1); printf 'X' | dd of=$f bs=1 seek=200 conv=notrunc 2>/dev/null", dir);
    OK(system(cmd) == 0, "flipped a payload byte of the entry");
    cl_ce_cache_stats before = cl_ce_cache_get_stats(c);
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 0 &&
           cl_ce_cache_get_stats(c).corrupt == before.corrupt + 1,
       "corrupt entry: a miss, counted as corrupt");
    cl_ce_cache_put(c, &m, e);
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 1 && !memcmp(got, e, sizeof e),
       "put over a corrupt entry repairs it");
    snprintf(cmd, sizeof cmd, "f=$(find %s -name '*.ce' | head -1); : > $f", dir);
    system(cmd);
    OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 0, "empty (truncated) entry: miss");
    cl_ce_cache_close(c);

    /* four processes writing the same keys at once while reading them: a hit is always exact */
    const char *dir2 = t_tmp("cache-conc");
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        if ((kids[k] = fork()) == 0) {
            cl_ce_cache *cc = cl_ce_cache_open(dir2);
            int bad = !cc;
            for (int round = 0; round < 5 && !bad; round++)
                for (int key = 0; key < KEYS; key++) {
                    cl_ce_meta mk;
                    float ek[D * COUNT], gk[D * COUNT];
                    meta_for(key, comp, &mk);
                    values(key, ek);
                    if (cl_ce_cache_get(cc, mk.comp_fp, mk.content_hash, D, COUNT, gk) && memcmp(gk, ek, sizeof ek)) bad = 1;
                    if (cl_ce_cache_put(cc, &mk, ek) < 0) bad = 1;
                }
            cl_ce_cache_close(cc);
            _exit(bad);
        }
    }
    int all_ok = 1;
    for (int k = 0; k < 4; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) all_ok = 0;
    }
    OK(all_ok, "4 concurrent writers/readers: no write error, every hit exact");
    c = cl_ce_cache_open(dir2);
    int hits = 0;
    for (int key = 0; key < KEYS; key++) {
        meta_for(key, comp, &m);
        values(key, e);
        hits += cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 1 && !memcmp(got, e, sizeof e);
    }
    OK(hits == KEYS, "afterwards every key hits (%d/%d)", hits, KEYS);
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '*.tmp.*')\"", dir2);
    OK(system(cmd) == 0, "no temporary files left behind");
    cl_ce_cache_stats st = cl_ce_cache_get_stats(c);
    OK(st.hits == KEYS && st.misses == 0, "stats count hits (%llu) and misses (%llu)", (unsigned long long)st.hits,
       (unsigned long long)st.misses);
    cl_ce_cache_close(c);
    OK(cl_ce_cache_open("/dev/null/x") == NULL && strstr(cl_error(), "/dev/null"), "unusable dir: %s", cl_error());

    /* a FIFO where an entry belongs: a miss at once (no blocking open), and the next put replaces it */
    {
        const char *d3 = t_tmp("cache-fifo");
        c = cl_ce_cache_open(d3);
        meta_for(5, comp, &m);
        values(5, e);
        cl_ce_cache_put(c, &m, e);
        char f[1024];
        entry_file(d3, f, sizeof f);
        OK(f[0] && unlink(f) == 0 && mkfifo(f, 0666) == 0, "replaced the entry with a FIFO");
        alarm(20);   /* a blocking open would hang here: the alarm turns that into a failure */
        OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 0, "FIFO entry: a miss, no hang");
        OK(cl_ce_cache_put(c, &m, e) == 0, "put over the FIFO");
        struct stat sb;
        OK(stat(f, &sb) == 0 && S_ISREG(sb.st_mode), "the FIFO is now a regular entry");
        OK(cl_ce_cache_get(c, m.comp_fp, m.content_hash, D, COUNT, got) == 1 && !memcmp(got, e, sizeof e),
           "and hits");
        alarm(0);
        cl_ce_cache_close(c);
    }

    /* read-only caches: an existing tree, a missing subdirectory, a missing cache directory */
    {
        const char *ro = t_tmp("cache-ro"), *ro_cache = t_tmp("cache-ro/cache"), *ro_missing = t_tmp("cache-ro/none/deeper");
        snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s && chmod -R a-w %s", ro, ro_cache, ro);
        OK(system(cmd) == 0, "made a read-only tree");
        int r1 = unwritable_run(ro_cache, 0);
        OK(r1 == 0, "read-only cache, subdirectory missing: one warning, later puts skipped, run carries on (%d)", r1);
        snprintf(cmd, sizeof cmd, "chmod -R u+w %s && cd %s/cache && for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do "
                 "for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do mkdir $a$b || exit 1; done; done && cd - >/dev/null && chmod -R a-w %s", ro, ro, ro);
        if (system(cmd) == 0) {
            int r2 = unwritable_run(ro_cache, 0);
            OK(r2 == 0, "read-only cache with its subdirectories: the same (%d)", r2);
        } else {
            OK(0, "could not prepare subdirectories");
        }
        int r3 = unwritable_run(ro_missing, 0);
        OK(r3 == 0, "cache directory missing under a read-only parent: the same (%d)", r3);
        snprintf(cmd, sizeof cmd, "chmod -R u+w %s", ro);
        system(cmd);
        snprintf(cmd, sizeof cmd, "rm -rf %s", t_tmp("cache-full"));
        system(cmd);
        int r4 = unwritable_run(t_tmp("cache-full"), 1);
        OK(r4 == 0, "full cache (file size limit, EFBIG): the same (%d)", r4);
    }
    return t_done();
}
