/* test_hub.c — lib/hub.h without network: model references, the cache directory's environment
 * precedence, offline resolution on a cache laid out by hand as huggingface_hub lays it out,
 * the model-info JSON and ETag parsers.  (Downloads: tests/cli/cl-model-pull.bats.) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub.h"
#include "sha1.h"
#include "t.h"
#include "util.h"

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void test_refs(void) {
    cl_hub_ref r;
    OK(cl_hub_ref_parse("Qwen/Qwen3-0.6B", &r) == 0 && !strcmp(r.org, "Qwen") && !strcmp(r.name, "Qwen3-0.6B") &&
           !strcmp(r.repo, "Qwen/Qwen3-0.6B") && !strcmp(r.revision, "main") && !r.quant,
       "ORG/NAME: revision main, no quant");
    cl_hub_ref_free(&r);
    OK(cl_hub_ref_parse("bartowski/Qwen_Qwen3-0.6B-GGUF@v1.0:Q8_0", &r) == 0 && !strcmp(r.revision, "v1.0") &&
           !strcmp(r.quant, "Q8_0") && !strcmp(r.name, "Qwen_Qwen3-0.6B-GGUF"),
       "ORG/NAME@REV:QUANT");
    cl_hub_ref_free(&r);
    OK(cl_hub_ref_parse("a/b@refs/pr/1", &r) == 0 && !strcmp(r.revision, "refs/pr/1"), "a revision may hold '/'");
    cl_hub_ref_free(&r);
    static const char *const bad[] = {"", "a", "/b", "a/", "a/b/c", "../x", "a/..", "a/b--c", "a/.b", "a/b-",
                                      "a/b@", "a/b@x..y", "a/b:Q8_0@main", "a/b:", "a b/c", "a/b@-x", "a/b@x y"};
    int rejected = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (cl_hub_ref_parse(bad[i], &r) == 0) {
            printf("# accepted %s\n", bad[i]);
            cl_hub_ref_free(&r);
        } else rejected++;
    }
    OK(rejected == (int)(sizeof bad / sizeof *bad), "%d malformed references refused", rejected);
    cl_fail("previous error");
    OK(!cl_hub_is_ref("../shared/models/x") && !strcmp(cl_error(), "previous error"),
       "cl_hub_is_ref: a path is no reference, and the probe keeps the stored error");
}

static void test_cache_dir(void) {
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    /* each variable set in turn takes precedence over those set before it */
    static const struct { const char *var, *value, *want, *what; } order[] = {
        {NULL, NULL, "/home/u/.cache/huggingface/hub", "default ~/.cache/huggingface/hub"},
        {"XDG_CACHE_HOME", "/x", "/x/huggingface/hub", "$XDG_CACHE_HOME/huggingface/hub"},
        {"HF_HOME", "/h", "/h/hub", "$HF_HOME/hub over XDG"},
        {"HUGGINGFACE_HUB_CACHE", "/legacy", "/legacy", "$HUGGINGFACE_HUB_CACHE over HF_HOME"},
        {"HF_HUB_CACHE", "/c", "/c", "$HF_HUB_CACHE first"}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (order[i].var) setenv(order[i].var, order[i].value, 1);
        char *d = cl_hub_cache_dir();
        OK(!strcmp(d, order[i].want), "%s: %s", order[i].what, d);
        free(d);
    }
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");
    static const char *const on[] = {"1", "ON", "yes", "True"}, *const off[] = {"0", "", "no", "false"};
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        setenv("HF_HUB_OFFLINE", on[i], 1);
        ok &= cl_hub_offline();
        setenv("HF_HUB_OFFLINE", off[i], 1);
        ok &= !cl_hub_offline();
    }
    unsetenv("HF_HUB_OFFLINE");
    OK(ok, "HF_HUB_OFFLINE: 1/ON/YES/TRUE in any case, nothing else");
}

static void test_resolve(void) {
    char root[1024], cmd[8400];
    snprintf(root, sizeof root, "%s/hub.%d", t_tmp(""), (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/models--o--m/refs %s/models--o--m/blobs "
             "%s/models--o--m/snapshots/%s %s/models--o--g/refs %s/models--o--g/snapshots/%s", root, root, root,
             root, "1111111111111111111111111111111111111111", root, root, "2222222222222222222222222222222222222222");
    OK(system(cmd) == 0, "cache laid out by hand");
    setenv("HF_HUB_CACHE", root, 1);
    char p[2048];
    snprintf(p, sizeof p, "%s/models--o--m/refs/main", root);
    put(p, "1111111111111111111111111111111111111111");   /* no newline, as huggingface_hub writes it */
    snprintf(p, sizeof p, "%s/models--o--m/blobs/abc", root);
    put(p, "{}");
    snprintf(p, sizeof p, "%s/models--o--m/snapshots/1111111111111111111111111111111111111111/config.json", root);
    OK(symlink("../../blobs/abc", p) == 0, "snapshot symlink");
    char *got = cl_hub_resolve("o/m");
    snprintf(p, sizeof p, "%s/models--o--m/snapshots/1111111111111111111111111111111111111111", root);
    OK(got && !strcmp(got, p), "o/m -> the snapshot of refs/main: %s", got ? got : cl_error());
    free(got);
    got = cl_hub_resolve("o/m@1111111111111111111111111111111111111111");
    OK(got && !strcmp(got, p), "o/m@COMMIT -> that snapshot");
    free(got);
    got = cl_hub_resolve("o/m@v2");
    OK(!got && strstr(cl_error(), "cl-model pull o/m@v2") && strstr(cl_error(), "not in the Hugging Face cache"),
       "unknown revision: says how to pull it: %s", cl_error());
    got = cl_hub_resolve("o/absent");
    OK(!got && strstr(cl_error(), "cl-model pull o/absent"), "absent model: says how to pull it");
    /* a GGUF repository */
    snprintf(p, sizeof p, "%s/models--o--g/refs/main", root);
    put(p, "2222222222222222222222222222222222222222\n");
    snprintf(p, sizeof p, "%s/models--o--g/snapshots/2222222222222222222222222222222222222222/m-Q8_0.gguf", root);
    put(p, "x");
    got = cl_hub_resolve("o/g");
    OK(got && !strcmp(got, p), "one .gguf, no config.json -> the .gguf");
    free(got);
    snprintf(p, sizeof p, "%s/models--o--g/snapshots/2222222222222222222222222222222222222222/m-F16.gguf", root);
    put(p, "x");
    got = cl_hub_resolve("o/g");
    OK(!got && strstr(cl_error(), "2 .gguf files"), "two .gguf without :QUANT: %s", cl_error());
    got = cl_hub_resolve("o/g:f16");
    OK(got && !strcmp(got, p), ":QUANT picks one, any case");
    free(got);
    got = cl_hub_resolve("o/g:Q4_K_M");
    OK(!got && strstr(cl_error(), "no .gguf matching Q4_K_M"), "no match: %s", cl_error());
    FILE *f = tmpfile();
    OK(f && cl_hub_list(f) == 0, "cl_hub_list");
    char buf[4096] = {0};
    if (f) rewind(f), buf[fread(buf, 1, sizeof buf - 1, f)] = 0, fclose(f);
    OK(strstr(buf, "o/m ") && strstr(buf, "main=111111111111") && strstr(buf, "o/g "), "list shows both models with their refs");
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    OK(system(cmd) == 0, "cleanup");
    unsetenv("HF_HUB_CACHE");
}

static void test_parsers(void) {
    char *commit = NULL, **files = NULL;
    int n = 0;
    OK(cl_hub_parse_model_info("{\"sha\":\"28da79b3b354cc171b2ba123837671e97c0e86b5\",\"siblings\":"
                               "[{\"rfilename\":\"config.json\"},{\"rfilename\":\"a/b.safetensors\"},{\"x\":1}]}",
                               &commit, &files, &n) == 0 &&
           n == 2 && !strcmp(files[1], "a/b.safetensors") && !strcmp(commit, "28da79b3b354cc171b2ba123837671e97c0e86b5"),
       "model info: commit and file names");
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    free(commit);
    OK(cl_hub_parse_model_info("{\"sha\":\"abc\",\"siblings\":[]}", &commit, &files, &n) == -1, "short sha refused");
    OK(cl_hub_parse_model_info("{\"sha\":", &commit, &files, &n) == -1 && strstr(cl_error(), "bad JSON"),
       "bad JSON refused: %s", cl_error());
    char *e = cl_hub_normalize_etag("W/\"abc-1\"");
    OK(e && !strcmp(e, "abc-1"), "ETag W/\"abc-1\" -> abc-1");
    free(e);
    e = cl_hub_normalize_etag("\"187d0d5e8360d9625e40e0b35ec57d1ef0eea1a60ddcf09412246bed3484852f\"");
    OK(e && strlen(e) == 64, "quoted sha256 ETag");
    free(e);
    OK(!cl_hub_normalize_etag("\"../../x\"") && !cl_hub_normalize_etag("\"\"") && !cl_hub_normalize_etag("a/b"),
       "an ETag that is no file name is refused");
}

/* FIPS 180 test vectors, and a message crossing the 55/56-byte padding boundary against git's id
 * of the empty blob ("blob 0\0"). */
static void test_sha1(void) {
    static const struct { const char *msg, *hex; } v[] = {
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"}};
    int ok = 1;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        cl_sha1 s;
        uint8_t d[20];
        char hex[41];
        cl_sha1_init(&s);
        cl_sha1_update(&s, v[i].msg, strlen(v[i].msg));
        cl_sha1_final(&s, d);
        cl_hex(d, 20, hex);
        ok &= !strcmp(hex, v[i].hex);
    }
    cl_sha1 s;
    uint8_t d[20];
    char hex[41];
    cl_sha1_init(&s);
    cl_sha1_update(&s, "blob 0", 7);
    cl_sha1_final(&s, d);
    cl_hex(d, 20, hex);
    OK(ok && !strcmp(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"), "SHA-1 test vectors and git's empty blob id");
    /* a million 'a' fed in odd pieces */
    cl_sha1_init(&s);
    char a[997];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    while (left) {
        size_t k = left < sizeof a ? left : sizeof a;
        cl_sha1_update(&s, a, k);
        left -= k;
    }
    cl_sha1_final(&s, d);
    cl_hex(d, 20, hex);
    OK(!strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"), "SHA-1 of a million 'a' in 997-byte pieces");
}

int main(void) {
    test_sha1();
    test_refs();
    test_cache_dir();
    test_resolve();
    test_parsers();
    return t_done();
}
