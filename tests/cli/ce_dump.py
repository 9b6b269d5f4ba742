#!/usr/bin/python3
"""ce_dump.py FILE... — an independent reader of CE files (man/cl-ce.5), for the bats tests.
Prints one line per record: name seg_index offset length n_tokens count dim dtype, the first 16 hex
digits of SHA-256 of the payload, of the base-model and of the compressor fingerprint, after checking
magic, sizes and checksum; exits 1 with a message on anything malformed.  Standard library only."""
import hashlib
import struct
import sys

HDR = 160
SIZE = {0: 4, 1: 2, 30: 2}


def dump(path):
    data = open(path, "rb").read() if path != "-" else sys.stdin.buffer.read()
    pos, rec = 0, 0
    while pos < len(data):
        rec += 1
        h = data[pos:pos + HDR]
        if len(h) < HDR or h[:4] != b"CLCE":
            sys.exit(f"{path}: record {rec} at {pos}: bad or truncated header")
        ver, hsize, dim, count, dtype, res, nlen, ntok, idx, off, length = struct.unpack_from("<HHIIBBHIQQQ", h, 4)
        payload, = struct.unpack_from("<Q", h, 144)
        if not (ver == 1 and hsize == HDR and res == 0 and dtype in SIZE and payload == count * dim * SIZE[dtype]):
            sys.exit(f"{path}: record {rec} at {pos}: bad header fields")
        end = pos + HDR + nlen + payload
        if end > len(data):
            sys.exit(f"{path}: record {rec} at {pos}: truncated")
        body = data[pos + HDR:end]
        if hashlib.sha256(h[:152] + body).digest()[:8] != h[152:160]:
            sys.exit(f"{path}: record {rec} at {pos}: checksum")
        name = body[:nlen].decode() or "-"
        print(name, idx, off, length, ntok, count, dim, dtype, hashlib.sha256(body[nlen:]).hexdigest()[:16],
              h[48:80].hex()[:16], h[80:112].hex()[:16])
        pos = end


for p in sys.argv[1:]:
    dump(p)
