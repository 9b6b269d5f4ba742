#!/usr/bin/python3
"""spm_tokenize.py TOKENIZER_MODEL STRINGS_JSONL — encodes every string (one JSON string per line)
with Google's SentencePiece (Debian python3-sentencepiece), no BOS, and prints one JSON line per
string: {"ids": [...], "text": "<SentencePiece decode of those ids>"}.  Reference of
tests/unit/test_tokenizer_spm.c."""
import json
import sys

import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        s = json.loads(line)
        ids = sp.encode(s)
        print(json.dumps({"ids": ids, "text": sp.decode(ids)}, ensure_ascii=False))
