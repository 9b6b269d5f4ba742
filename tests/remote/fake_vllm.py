#!/usr/bin/python3
"""fake_vllm.py — a loopback stand-in for vLLM's OpenAI-compatible server, for cl-ask --server tests.

  fake_vllm.py --port-file F --report-dir D [--model NAME] [--hidden N] [--max-model-len N] [--answer TEXT]

Binds 127.0.0.1 on a free port (written to F once listening).  The first path segment after
an optional "/mode/NAME" prefix selects fault injection, so one server serves every test:
  http://127.0.0.1:PORT/mode/ok/v1/...          (or no prefix) the normal answer
  .../mode/500        HTTP 500 with an OpenAI-style error message
  .../mode/hang       nothing for 60 s (the client must time out)
  .../mode/cut        two events, then the connection closes without "data: [DONE]"
  .../mode/malformed  an event whose data is not JSON
  .../mode/streamerr  an error event inside the stream (as vLLM sends on a failed generation)
  .../mode/noembeds   vLLM without --enable-prompt-embeds: its HTTP 400
  .../mode/ignore     a server that ignores prompt_embeds: answers, usage.prompt_tokens = 1
  .../mode/hidden64   a served model of hidden size 64 (vLLM's HTTP 400 for a wrong width)
  .../mode/busy1      HTTP 503 to the first completion request, then as ok (a safe retry)
  .../mode/nostream   HTTP 200 with a JSON body instead of an event stream
GET .../v1/models lists --model with --max-model-len.  A completion request's prompt_embeds is
loaded as vLLM loads it (vllm/renderers/embed_utils.py safe_load_prompt_embeds: base64 decode
with validation, torch.load(weights_only=True, map_location=cpu), to_dense, squeeze(0) of a 3-D
tensor, 2-D with --hidden columns or HTTP 400); what was received goes to D/MODE.json
(shape, dtype, prompt ids, headers) and, for embeddings, D/MODE.bin (the tensor's raw bytes)."""
import argparse
import base64
import binascii
import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

ARGS = None
COUNTS = {}
LOCK = threading.Lock()


def load_embeds(b64, hidden):
    """The tensor as vLLM's safe_load_prompt_embeds loads it, or raises ValueError(message)."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error as e:
        raise ValueError(f"prompt_embeds is not base64: {e}")
    t = torch.load(io.BytesIO(raw), weights_only=True, map_location=torch.device("cpu"))
    if not isinstance(t, torch.Tensor):
        raise ValueError("`prompt_embeds` payload did not deserialize to a torch.Tensor.")
    t = t.to_dense()
    if t.dim() > 2:
        t = t.squeeze(0)
    if t.dim() != 2:
        raise ValueError(f"`prompt_embeds` must be a 2D tensor of shape (num_tokens, hidden_size); got shape {tuple(t.shape)}.")
    if t.shape[1] != hidden:
        raise ValueError(f"`prompt_embeds` hidden_size {t.shape[1]} does not match the model's hidden_size {hidden}.")
    return t, len(raw)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"   # the body ends when the connection closes

    def log_message(self, *a):
        pass

    def split(self):
        p = self.path
        mode = "ok"
        if p.startswith("/mode/"):
            rest = p[len("/mode/"):]
            mode, _, p = rest.partition("/")
            p = "/" + p
        return mode, p

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, code, msg, typ="BadRequestError"):
        self.send_json(code, {"error": {"message": msg, "type": typ, "param": None, "code": code}})

    def do_GET(self):
        mode, p = self.split()
        if p != "/v1/models":
            return self.error(404, f"no route {p}", "NotFoundError")
        self.send_json(200, {"object": "list", "data": [
            {"id": ARGS.model, "object": "model", "owned_by": "vllm", "root": ARGS.model,
             "max_model_len": ARGS.max_model_len}]})

    def event(self, obj):
        data = obj if isinstance(obj, str) else json.dumps(obj)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def do_POST(self):
        mode, p = self.split()
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with LOCK:
            COUNTS[mode] = COUNTS.get(mode, 0) + 1
            count = COUNTS[mode]
        if p != "/v1/completions":
            return self.error(404, f"no route {p}", "NotFoundError")
        req = json.loads(body)
        report = {"requests": count, "body_bytes": len(body), "authorization": self.headers.get("Authorization"),
                  "request": {k: v for k, v in req.items() if k != "prompt_embeds"}}
        if mode == "busy1" and count == 1:
            return self.error(503, "server busy, try again", "ServiceUnavailableError")
        if mode == "noembeds" and "prompt_embeds" in req:
            return self.error(400, "You must set `--enable-prompt-embeds` to input `prompt_embeds`.")
        rows = len(req.get("prompt") or [])
        if "prompt_embeds" in req and mode != "ignore":
            try:
                t, nbytes = load_embeds(req["prompt_embeds"], 64 if mode == "hidden64" else ARGS.hidden)
            except ValueError as e:
                return self.error(400, str(e))
            rows = t.shape[0]
            report.update(shape=list(t.shape), dtype=str(t.dtype).replace("torch.", ""), payload_bytes=nbytes)
            ints = torch.int32 if t.dtype == torch.float32 else torch.int16
            with open(os.path.join(ARGS.report_dir, mode + ".bin"), "wb") as f:
                f.write(t.contiguous().view(ints).numpy().tobytes())
        if mode == "ignore":
            rows = 1
        with open(os.path.join(ARGS.report_dir, mode + ".json"), "w") as f:
            json.dump(report, f)
        if mode == "500":
            return self.error(500, "injected failure: the engine died", "InternalServerError")
        if mode == "hang":
            time.sleep(60)
            return
        if mode == "nostream":
            return self.send_json(200, {"choices": [{"text": ARGS.answer, "index": 0}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.end_headers()
        words = ARGS.answer.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        chunk = lambda text, fin=None: {"id": "cmpl-test", "object": "text_completion", "model": ARGS.model,
                                        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": fin}]}
        if mode == "malformed":
            self.event(chunk(pieces[0]))
            self.event("{\"choices\": [{\"text\": oops")
            return
        if mode == "streamerr":
            self.event(chunk(pieces[0]))
            self.event({"error": {"object": "error", "message": "injected: generation failed", "code": 500}})
            self.event("[DONE]")
            return
        for i, piece in enumerate(pieces):
            self.event(chunk(piece))
            if mode == "cut" and i == 1:
                self.wfile.flush()
                return
        self.event(chunk("", "stop"))
        self.event({"id": "cmpl-test", "object": "text_completion", "model": ARGS.model, "choices": [],
                    "usage": {"prompt_tokens": rows, "completion_tokens": len(pieces), "total_tokens": rows + len(pieces)}})
        self.event("[DONE]")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--report-dir", required=True)
    ap.add_argument("--model", default="test/tinystories")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--max-model-len", type=int, default=512)
    ap.add_argument("--answer", default="Max was a happy dog.")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
