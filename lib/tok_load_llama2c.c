/* tok_load_llama2c.c — llama2.c's tokenizer.bin: int32 max_token_length, then per token
 * float32 score, int32 length, bytes.  The file does not store the vocab size: n_vocab comes from
 * the checkpoint header (n_vocab <= 0: read tokens until the end of the file).  Pieces use ' '
 * where SentencePiece had ▁; they are stored back with ▁ so that every SentencePiece tokenizer
 * looks the same inside (and exports to GGUF as llama.cpp expects).  Ids 0, 1, 2 are <unk>, BOS,
 * EOS; <0xNN> byte tokens give the byte fallback; encoding merges by score with a ▁ prefix. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "util.h"

cl_tokenizer *cl_tokenizer_from_llama2c(const char *path, int n_vocab) {
    cl_map m;
    if (cl_map_file(path, &m)) return NULL;
    const unsigned char *p = m.data;
    size_t size = m.size, off = 4;
    cl_tokenizer *t = NULL;
    tok_buf piece = {0};
    if (size < 4) { cl_fail("%s: too short for a llama2.c tokenizer", path); goto fail; }
    /* count tokens when the caller does not know */
    int n = 0;
    for (size_t o = 4; o + 8 <= size && (n_vocab <= 0 || n < n_vocab); n++) {
        int32_t len;
        memcpy(&len, p + o + 4, 4);
        if (len < 0 || (size_t)len > size - o - 8) break;
        o += 8 + (size_t)len;
    }
    if (n_vocab <= 0) n_vocab = n;
    if (n < n_vocab || n_vocab < 3) {
        cl_fail("%s: offset %zu: holds %d tokens, expected %d", path, size, n, n_vocab);
        goto fail;
    }
    t = tok_new(n_vocab);
    t->score = cl_calloc((size_t)n_vocab, sizeof *t->score);
    for (int id = 0; id < n_vocab; id++) {
        int32_t len;
        memcpy(&t->score[id], p + off, 4);
        memcpy(&len, p + off + 4, 4);
        const char *s = (const char *)p + off + 8;
        off += 8 + (size_t)len;
        piece.n = 0;
        if (id == 1 || id == 2) {   /* exported as "\n<s>\n" and "\n</s>\n" */
            const char *name = id == 1 ? "<s>" : "</s>";
            tok_buf_append(&piece, name, strlen(name));
        } else {
            for (int32_t i = 0; i < len; i++) {
                if (s[i] == ' ') tok_buf_append(&piece, "\xe2\x96\x81", 3);
                else tok_buf_append(&piece, s + i, 1);
            }
        }
        tok_set_piece(t, id, piece.v ? piece.v : "", piece.n);
    }
    t->algo = TOK_ALGO_SPM;
    t->byte_fallback = 1;
    t->unk_id = 0;
    t->bos_id = 1;
    t->eos_id = 2;
    t->add_bos = 1;
    for (int id = 0; id < 3; id++)   /* control tokens: matched in text with CL_TOK_SPECIAL */
        if (tok_add_added(t, id, t->piece[id], t->piece_len[id], 1, 0, 0, 0, 0)) goto fail;
    if (tok_set_spm_defaults(t, 1) || tok_finish(t, path)) goto fail;
    free(piece.v);
    cl_unmap(&m);
    return t;
fail:
    free(piece.v);
    cl_tokenizer_free(t);
    cl_unmap(&m);
    return NULL;
}
