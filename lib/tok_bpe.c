/* tok_bpe.c — the models: BPE merging by rank (Hugging Face BPE: Word::merge_all) and by piece
 * score (SentencePiece BPE as llama.cpp's llm_tokenizer_spm and llama2.c encode do it).
 * Both keep the symbols of one pre-token in a linked list and candidate merges in a binary
 * min-heap; stale heap entries are skipped when popped.  O(n log n) per pre-token. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "utf8.h"
#include "util.h"

/* ---------------- (left, right) -> (rank, result) ---------------- */

static uint32_t hash_pair(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (uint32_t)k;
}

int tok_pairmap_init(tok_pairmap *m, size_t n) {
    uint32_t size = 16;
    while (size < n * 2 + 2) size <<= 1;
    m->key = cl_malloc(size * sizeof *m->key);
    m->rank = cl_malloc(size * sizeof *m->rank);
    m->result = cl_malloc(size * sizeof *m->result);
    for (uint32_t i = 0; i < size; i++) m->key[i] = UINT64_MAX;
    m->mask = size - 1;
    m->n = 0;
    return 0;
}

void tok_pairmap_free(tok_pairmap *m) {
    free(m->key); free(m->rank); free(m->result);
    memset(m, 0, sizeof *m);
}

/* Returns 1 if inserted, 0 if the pair was already there (first one wins, as in HF). */
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t result) {
    if ((m->n + 1) * 2 > m->mask + 1) {     /* grow */
        tok_pairmap old = *m;
        tok_pairmap_init(m, (size_t)(old.mask + 1));
        for (uint32_t i = 0; i <= old.mask; i++)
            if (old.key[i] != UINT64_MAX)
                tok_pairmap_put(m, (int32_t)(old.key[i] >> 32), (int32_t)(uint32_t)old.key[i],
                                old.rank[i], old.result[i]);
        tok_pairmap_free(&old);
    }
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t i = hash_pair(k) & m->mask;
    while (m->key[i] != UINT64_MAX) {
        if (m->key[i] == k) return 0;
        i = (i + 1) & m->mask;
    }
    m->key[i] = k; m->rank[i] = rank; m->result[i] = result;
    m->n++;
    return 1;
}

int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *result) {
    if (!m->key) return 0;
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t i = hash_pair(k) & m->mask;
    for (;;) {
        uint64_t x = m->key[i];
        if (x == k) { *rank = m->rank[i]; *result = m->result[i]; return 1; }
        if (x == UINT64_MAX) return 0;
        i = (i + 1) & m->mask;
    }
}

void tok_ids_push(tok_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? 2 * ids->cap : 64;
        ids->v = cl_realloc(ids->v, ids->cap * sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
}

/* ---------------- symbols and the heap ---------------- */

typedef struct { int32_t id, prev, next; uint32_t off, len; } sym;
typedef struct { double key; int32_t left, right; uint32_t size; } cand;   /* lower key first */

/* Cache of one encode call: short pre-token -> its ids (words repeat; BPE is the costly part). */
#define CACHE_SLOTS 8192            /* power of two; cleared when half full */
#define CACHE_MAX_WORD 48
typedef struct { uint32_t hash, key_off, ids_off; uint16_t key_len, n_ids; } cache_slot;

struct tok_scratch {
    sym *sym; size_t nsym, csym;
    cand *heap; size_t nheap, cheap;
    char *buf; size_t cbuf;
    cache_slot *slot; size_t nslot;
    tok_buf keys;
    tok_ids ids;
};

tok_scratch *tok_scratch_new(void) { return cl_calloc(1, sizeof(tok_scratch)); }
void tok_scratch_free(tok_scratch *s) {
    if (!s) return;
    free(s->sym); free(s->heap); free(s->buf); free(s->slot); free(s->keys.v); free(s->ids.v); free(s);
}

static uint32_t hash_word(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h | 1;   /* 0 marks an empty slot */
}

/* Finds s in the cache: returns its slot (hash != 0 when found, else the empty slot to fill). */
static cache_slot *cache_find(tok_scratch *sc, const char *s, size_t n, uint32_t h) {
    if (!sc->slot) sc->slot = cl_calloc(CACHE_SLOTS, sizeof *sc->slot);
    for (uint32_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        cache_slot *c = &sc->slot[i];
        if (!c->hash || (c->hash == h && c->key_len == n && !memcmp(sc->keys.v + c->key_off, s, n))) return c;
    }
}

static void sym_push(tok_scratch *s, int32_t id, size_t off, size_t len) {
    if (s->nsym == s->csym) {
        s->csym = s->csym ? 2 * s->csym : 256;
        s->sym = cl_realloc(s->sym, s->csym * sizeof *s->sym);
    }
    int32_t i = (int32_t)s->nsym++;
    s->sym[i] = (sym){id, i - 1, i + 1, (uint32_t)off, (uint32_t)len};
}

static int cand_less(const cand *a, const cand *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static void heap_push(tok_scratch *s, cand c) {
    if (s->nheap == s->cheap) {
        s->cheap = s->cheap ? 2 * s->cheap : 256;
        s->heap = cl_realloc(s->heap, s->cheap * sizeof *s->heap);
    }
    size_t i = s->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &s->heap[p])) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = c;
}

static cand heap_pop(tok_scratch *s) {
    cand top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const cand *best = &last;
        if (l < n && cand_less(&s->heap[l], best)) { m = l; best = &s->heap[l]; }
        if (l + 1 < n && cand_less(&s->heap[l + 1], best)) m = l + 1;
        if (m == i) break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (n) s->heap[i] = last;
    return top;
}

/* ---------------- initial symbols ---------------- */

/* One symbol per UTF-8 character (an invalid byte counts as one character): its vocab id, else
 * its <0xNN> byte tokens (byte_fallback), else unk (consecutive unks fused when fuse_unk) —
 * exactly HF BPE::merge_word, including where a pending unk goes. */
static void initial_symbols_chars(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n) {
    int32_t unk_len = -1;
    size_t unk_off = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = cl_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) k = 1;
        int32_t id = tok_lookup(t, s + i, (size_t)k);
        if (id >= 0) {
            if (unk_len >= 0) { sym_push(sc, t->unk_id, unk_off, (size_t)unk_len); unk_len = -1; }
            sym_push(sc, id, i, (size_t)k);
        } else {
            int all = t->byte_fallback;
            for (int j = 0; j < k && all; j++) all = t->byte_token[(unsigned char)s[i + j]] >= 0;
            if (all) {
                for (int j = 0; j < k; j++) sym_push(sc, t->byte_token[(unsigned char)s[i + j]], i + (size_t)j, 1);
            } else if (t->unk_id >= 0) {
                if (unk_len >= 0 && t->fuse_unk) {
                    unk_len += k;
                } else {
                    if (unk_len >= 0) sym_push(sc, t->unk_id, unk_off, (size_t)unk_len);
                    unk_off = i;
                    unk_len = k;
                }
            }   /* no unk token: the character is dropped, as HF does */
        }
        i += (size_t)k;
    }
    if (unk_len >= 0) sym_push(sc, t->unk_id, unk_off, (size_t)unk_len);
}

/* ---------------- BPE by rank ---------------- */

static void push_rank_cand(const cl_tokenizer *t, tok_scratch *sc, int32_t left) {
    int32_t right = sc->sym[left].next;
    if (right < 0 || (size_t)right >= sc->nsym) return;
    int32_t rank, result;
    if (tok_pairmap_get(&t->merges, sc->sym[left].id, sc->sym[right].id, &rank, &result))
        heap_push(sc, (cand){(double)rank, left, result, 0});
}

static void merge_by_rank(const cl_tokenizer *t, tok_scratch *sc) {
    sc->nheap = 0;
    for (int32_t i = 0; i + 1 < (int32_t)sc->nsym; i++) push_rank_cand(t, sc, i);
    while (sc->nheap) {
        cand c = heap_pop(sc);
        sym *l = &sc->sym[c.left];
        if (l->len == 0 || l->next < 0 || (size_t)l->next >= sc->nsym) continue;
        sym *r = &sc->sym[l->next];
        int32_t rank, result;
        if (!tok_pairmap_get(&t->merges, l->id, r->id, &rank, &result) || result != c.right) continue;
        l->id = result;
        l->len += r->len;
        l->next = r->next;
        r->len = 0;
        if (l->next >= 0 && (size_t)l->next < sc->nsym) sc->sym[l->next].prev = c.left;
        if (l->prev >= 0) push_rank_cand(t, sc, l->prev);
        push_rank_cand(t, sc, c.left);
    }
}

/* ---------------- BPE by score (SentencePiece) ---------------- */

static void push_score_cand(const cl_tokenizer *t, tok_scratch *sc, const char *s, int32_t left) {
    int32_t right = sc->sym[left].next;
    if (right < 0 || (size_t)right >= sc->nsym) return;
    const sym *l = &sc->sym[left], *r = &sc->sym[right];
    uint32_t size = l->len + r->len;
    int32_t id = tok_lookup(t, s + l->off, size);
    if (id < 0 || (t->attr[id] & TOK_ATTR_UNUSED)) return;
    heap_push(sc, (cand){-(double)t->score[id], left, right, size});
}

static void merge_by_score(const cl_tokenizer *t, tok_scratch *sc, const char *s) {
    sc->nheap = 0;
    for (int32_t i = 0; i + 1 < (int32_t)sc->nsym; i++) push_score_cand(t, sc, s, i);
    while (sc->nheap) {
        cand c = heap_pop(sc);
        sym *l = &sc->sym[c.left], *r = &sc->sym[c.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != c.size || l->next != c.right) continue;
        l->len += r->len;
        l->next = r->next;
        r->len = 0;
        if (l->next >= 0 && (size_t)l->next < sc->nsym) sc->sym[l->next].prev = c.left;
        if (l->prev >= 0) push_score_cand(t, sc, s, l->prev);
        push_score_cand(t, sc, s, c.left);
    }
}

/* ---------------- cutting long words where no merge can cross ---------------- */

/* code point at s (invalid bytes get their own values above U+10FFFF) */
static uint32_t cp_at(const char *s, size_t n, int *len) {
    uint32_t cp;
    *len = cl_utf8_decode((const unsigned char *)s, n, &cp);
    if (*len == 0) { *len = 1; cp = 0x110000u + (unsigned char)s[0]; }
    return cp;
}

/* Every pair of adjacent characters inside any vocab piece.  A token made by merging across the
 * boundary between characters a and b contains "ab"; when no piece contains it (and both are
 * in the vocab, so no unk fusing or byte fallback is involved) the two sides tokenize
 * independently, whatever the merge order.  Models without a pre-tokenizer (SentencePiece
 * style) see a whole paragraph as one word; cutting it there keeps BPE's heap small. */
void tok_build_bigrams(cl_tokenizer *t) {
    tok_pairmap_init(&t->bigrams, 1024);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *p = t->piece[id];
        size_t n = t->piece_len[id], i = 0;
        int k;
        if (!p || n == 0) continue;
        uint32_t prev = cp_at(p, n, &k);
        for (i = (size_t)k; i < n; i += (size_t)k) {
            uint32_t c = cp_at(p + i, n - i, &k);
            tok_pairmap_put(&t->bigrams, (int32_t)prev, (int32_t)c, 0, 0);
            prev = c;
        }
    }
}

static void encode_word(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n, tok_ids *out);

static void encode_cut(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n, tok_ids *out) {
    size_t start = 0, i = 0;
    int k, prev_known = 0;
    uint32_t prev = 0;
    while (i < n) {
        uint32_t c = cp_at(s + i, n - i, &k);
        int known = tok_lookup(t, s + i, (size_t)k) >= 0;
        int32_t r, x;
        if (i > start && known && prev_known && !tok_pairmap_get(&t->bigrams, (int32_t)prev, (int32_t)c, &r, &x)) {
            encode_word(t, sc, s + start, i - start, out);
            start = i;
        }
        prev = c;
        prev_known = known;
        i += (size_t)k;
    }
    encode_word(t, sc, s + start, n - start, out);
}

/* ---------------- one pre-token ---------------- */

void tok_model_encode(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n, tok_ids *out) {
    if (n == 0) return;
    if (n > CACHE_MAX_WORD) {
        if (!t->byte_level && t->bigrams.key && n > 64 && !t->ignore_merges) encode_cut(t, sc, s, n, out);
        else encode_word(t, sc, s, n, out);
        return;
    }
    uint32_t h = hash_word(s, n);
    cache_slot *c = cache_find(sc, s, n, h);
    if (c->hash) {
        for (uint32_t i = 0; i < c->n_ids; i++) tok_ids_push(out, sc->ids.v[c->ids_off + i]);
        return;
    }
    size_t before = out->n;
    encode_word(t, sc, s, n, out);
    size_t got = out->n - before;
    if (got > UINT16_MAX || sc->keys.n + n > UINT32_MAX / 2 || sc->ids.n + got > UINT32_MAX / 2) return;
    if (++sc->nslot > CACHE_SLOTS / 2) {   /* full: start over */
        memset(sc->slot, 0, CACHE_SLOTS * sizeof *sc->slot);
        sc->nslot = 1;
        sc->keys.n = sc->ids.n = 0;
        c = cache_find(sc, s, n, h);
    }
    *c = (cache_slot){h, (uint32_t)sc->keys.n, (uint32_t)sc->ids.n, (uint16_t)n, (uint16_t)got};
    tok_buf_append(&sc->keys, s, n);
    for (size_t i = 0; i < got; i++) tok_ids_push(&sc->ids, out->v[before + i]);
}

static void encode_word(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n, tok_ids *out) {
    if (n == 0) return;
    sc->nsym = 0;
    if (t->algo == TOK_ALGO_SPM) {
        /* symbols are text spans; ids are looked up at the end (llama.cpp resegment) */
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int k = cl_utf8_decode((const unsigned char *)s + i, n - i, &cp);
            if (k == 0) k = 1;
            sym_push(sc, -1, i, (size_t)k);
            i += (size_t)k;
        }
        merge_by_score(t, sc, s);
        for (int32_t i = 0; i >= 0 && (size_t)i < sc->nsym; i = sc->sym[i].next) {
            const sym *y = &sc->sym[i];
            int32_t id = tok_lookup(t, s + y->off, y->len);
            if (id >= 0) { tok_ids_push(out, id); continue; }
            for (uint32_t j = 0; j < y->len; j++) {
                int32_t b = t->byte_token[(unsigned char)s[y->off + j]];
                if (b >= 0) tok_ids_push(out, b);
                else if (t->unk_id >= 0 && (j == 0 || !t->fuse_unk)) tok_ids_push(out, t->unk_id);
            }
        }
        return;
    }
    if (t->byte_level) {
        if (t->ignore_merges) {
            if (sc->cbuf < 2 * n + 1) { sc->cbuf = 2 * n + 1; sc->buf = cl_realloc(sc->buf, sc->cbuf); }
            size_t m = 0;
            for (size_t i = 0; i < n; i++) m += (size_t)cl_utf8_encode(tok_byte_to_cp[(unsigned char)s[i]], sc->buf + m);
            int32_t id = tok_lookup(t, sc->buf, m);
            if (id >= 0) { tok_ids_push(out, id); return; }
        }
        for (size_t i = 0; i < n; i++) {
            int32_t id = t->byte_token[(unsigned char)s[i]];
            if (id >= 0) sym_push(sc, id, i, 1);
            else if (t->unk_id >= 0) sym_push(sc, t->unk_id, i, 1);
        }
    } else {
        if (t->ignore_merges) {
            int32_t id = tok_lookup(t, s, n);
            if (id >= 0) { tok_ids_push(out, id); return; }
        }
        initial_symbols_chars(t, sc, s, n);
    }
    merge_by_rank(t, sc);
    for (size_t i = 0; i < sc->nsym; i++)
        if (sc->sym[i].len) tok_ids_push(out, sc->sym[i].id);
}
