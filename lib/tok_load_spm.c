/* tok_load_spm.c — SentencePiece's tokenizer.model (a protobuf ModelProto), BPE models only:
 *   ModelProto     1: repeated SentencePiece  2: TrainerSpec  3: NormalizerSpec
 *   SentencePiece  1: piece  2: score (float)  3: type (1 normal, 2 unknown, 3 control,
 *                  4 user-defined, 5 unused, 6 byte)
 *   TrainerSpec    3: model_type (1 unigram, 2 BPE)  35: byte_fallback  40..42: unk/bos/eos id
 *   NormalizerSpec 1: name  3: add_dummy_prefix  4: remove_extra_whitespaces
 * Only the "identity" normalizer without whitespace collapsing is supported (Llama 2's); other
 * normalizers need their precompiled character map and are refused with a message. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "util.h"

typedef struct { const uint8_t *p, *end; const char *path; const uint8_t *base; } pb;

static int varint(pb *b, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end) return cl_fail("%s: offset %zu: truncated varint", b->path, (size_t)(b->p - b->base));
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) return 0;
    }
    return cl_fail("%s: offset %zu: varint too long", b->path, (size_t)(b->p - b->base));
}

/* Next field: number, wire type, and for LEN fields a sub-reader; scalars in *v (fixed32 raw). */
static int field(pb *b, uint32_t *num, int *wt, uint64_t *v, pb *sub) {
    uint64_t key;
    if (varint(b, &key)) return -1;
    *num = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case 0: return varint(b, v);
    case 1:
        if (b->end - b->p < 8) return cl_fail("%s: offset %zu: truncated fixed64", b->path, (size_t)(b->p - b->base));
        memcpy(v, b->p, 8); b->p += 8; return 0;
    case 5: {
        uint32_t x;
        if (b->end - b->p < 4) return cl_fail("%s: offset %zu: truncated fixed32", b->path, (size_t)(b->p - b->base));
        memcpy(&x, b->p, 4); b->p += 4; *v = x; return 0;
    }
    case 2:
        if (varint(b, v)) return -1;
        if (*v > (uint64_t)(b->end - b->p)) return cl_fail("%s: offset %zu: field %u runs past the end", b->path, (size_t)(b->p - b->base), *num);
        *sub = (pb){b->p, b->p + *v, b->path, b->base};
        b->p += *v;
        return 0;
    default:
        return cl_fail("%s: offset %zu: unsupported protobuf wire type %d", b->path, (size_t)(b->p - b->base), *wt);
    }
}

typedef struct { const uint8_t *s; size_t len; float score; int type; } spm_piece;

cl_tokenizer *cl_tokenizer_from_spm(const char *path) {
    cl_map m;
    if (cl_map_file(path, &m)) return NULL;
    pb b = {m.data, (const uint8_t *)m.data + m.size, path, m.data};
    spm_piece *pieces = NULL;
    size_t np = 0, cap = 0;
    int model_type = 1, byte_fallback = 0, unk = 0, bos = 1, eos = 2, dummy = 1, extra_ws = 1;
    char name[64] = "";
    cl_tokenizer *t = NULL;
    while (b.p < b.end) {
        uint32_t num;
        int wt;
        uint64_t v;
        pb sub;
        if (field(&b, &num, &wt, &v, &sub)) goto fail;
        if (wt != 2) continue;
        if (num == 1) {
            spm_piece pc = {(const uint8_t *)"", 0, 0, 1};
            while (sub.p < sub.end) {
                uint32_t n2; int w2; uint64_t v2; pb s2;
                if (field(&sub, &n2, &w2, &v2, &s2)) goto fail;
                if (n2 == 1 && w2 == 2) { pc.s = s2.p; pc.len = (size_t)(s2.end - s2.p); }
                else if (n2 == 2 && w2 == 5) { uint32_t x = (uint32_t)v2; memcpy(&pc.score, &x, 4); }
                else if (n2 == 3 && w2 == 0) pc.type = (int)v2;
            }
            if (np == cap) { cap = cap ? 2 * cap : 1024; pieces = cl_realloc(pieces, cap * sizeof *pieces); }
            pieces[np++] = pc;
        } else if (num == 2 || num == 3) {
            while (sub.p < sub.end) {
                uint32_t n2; int w2; uint64_t v2; pb s2;
                if (field(&sub, &n2, &w2, &v2, &s2)) goto fail;
                if (num == 2 && w2 == 0) {
                    if (n2 == 3) model_type = (int)v2;
                    else if (n2 == 35) byte_fallback = (int)v2;
                    else if (n2 == 40) unk = (int)(int32_t)v2;
                    else if (n2 == 41) bos = (int)(int32_t)v2;
                    else if (n2 == 42) eos = (int)(int32_t)v2;
                } else if (num == 3) {
                    if (n2 == 1 && w2 == 2) snprintf(name, sizeof name, "%.*s", (int)(s2.end - s2.p), (const char *)s2.p);
                    else if (n2 == 3 && w2 == 0) dummy = (int)v2;
                    else if (n2 == 4 && w2 == 0) extra_ws = (int)v2;
                }
            }
        }
    }
    if (np == 0) { cl_fail("%s: no pieces (not a SentencePiece model?)", path); goto fail; }
    if (model_type != 2) { cl_fail("%s: SentencePiece model type %d not supported (only BPE = 2)", path, model_type); goto fail; }
    if (strcmp(name, "identity") || extra_ws) {
        cl_fail("%s: SentencePiece normalizer '%s'%s not supported (only identity without "
                "remove_extra_whitespaces)", path, name, extra_ws ? " with remove_extra_whitespaces" : "");
        goto fail;
    }
    t = tok_new((int)np);
    t->score = cl_calloc(np, sizeof *t->score);
    for (size_t i = 0; i < np; i++) {
        if (tok_set_piece(t, (int32_t)i, (const char *)pieces[i].s, pieces[i].len)) goto fail;
        t->score[i] = pieces[i].score;
    }
    for (size_t i = 0; i < np; i++) {
        int ty = pieces[i].type;
        if (ty == 5) t->attr[i] |= TOK_ATTR_UNUSED;
        /* control and unknown: matched in text only with CL_TOK_SPECIAL; user-defined: always */
        if ((ty == 2 || ty == 3 || ty == 4) && pieces[i].len &&
            tok_add_added(t, (int32_t)i, t->piece[i], t->piece_len[i], ty != 4, 0, 0, 0, 0))
            goto fail;
    }
    t->algo = TOK_ALGO_SPM;
    t->byte_fallback = byte_fallback;
    t->unk_id = unk >= 0 && (size_t)unk < np ? unk : -1;
    t->bos_id = bos >= 0 && (size_t)bos < np ? bos : -1;
    t->eos_id = eos >= 0 && (size_t)eos < np ? eos : -1;
    t->add_bos = t->bos_id >= 0;
    if (tok_set_spm_defaults(t, dummy) || tok_finish(t, path)) goto fail;
    if (!byte_fallback) for (int i = 0; i < 256; i++) t->byte_token[i] = -1;
    free(pieces);
    cl_unmap(&m);
    return t;
fail:
    free(pieces);
    cl_tokenizer_free(t);
    cl_unmap(&m);
    return NULL;
}
