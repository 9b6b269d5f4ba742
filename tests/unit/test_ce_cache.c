/* test_ce_cache.c — segment cache: hits, misses, corrupt entries, concurrent writers. */
#include <stdlib.h>
#include <string.h>
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
    snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '.tmp.*')\"", dir2);
    OK(system(cmd) == 0, "no temporary files left behind");
    cl_ce_cache_stats st = cl_ce_cache_get_stats(c);
    OK(st.hits == KEYS && st.misses == 0, "stats count hits (%llu) and misses (%llu)", (unsigned long long)st.hits,
       (unsigned long long)st.misses);
    cl_ce_cache_close(c);
    OK(cl_ce_cache_open("/dev/null/x") == NULL && strstr(cl_error(), "/dev/null"), "unusable dir: %s", cl_error());
    return t_done();
}
