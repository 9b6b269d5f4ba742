#!/usr/bin/python3
"""A loopback stand-in for the Hugging Face Hub (tests only; stdlib http.server).

Serves one model repository ORG/NAME from a local directory, speaking the requests that
`cl-model pull` (huggingface_hub's protocol) and @huggingface/hub's snapshotDownload make:
  GET  /api/models/ORG/NAME[/revision/REV]        model info: sha, siblings
  GET  /api/models/ORG/NAME/tree/REV[/PATH]       file entries (oid, size, lfs)
  POST /api/models/ORG/NAME/paths-info/REV        the same for {"paths": [...]}
  HEAD|GET /ORG/NAME/resolve/REV/PATH             X-Repo-Commit, ETag (git blob sha1), for LFS
                                                  files X-Linked-Etag (sha256) + X-Linked-Size and
                                                  a 302 to /cdn/SHA256 (absolute URL: the "CDN")
  GET  /cdn/SHA256                                the bytes, with Range (206 + Content-Range)
Files ending in .safetensors/.gguf/.bin are LFS files.  The commit is the sha1 of the listing.
REV may be "main", "HEAD" or the commit; anything else is 404 RevisionNotFound.

Faults (--fault, repeatable), each on the file bodies of PATH (its resolve GET or its CDN GET):
  cut:PATH       the first body sent is cut after half its bytes (connection closed)
  cutall:PATH    every body is cut after half
  wrong:PATH     every body has its bytes changed (same length)
  slow:PATH      every body stalls after half its bytes (the connection stays open, silent)
  drip:PATH      every body is sent in 20 pieces 50 ms apart (a transfer that takes a second)
  e500:N         the first N requests of any kind get 500
  token:TOKEN    every request without "Authorization: Bearer TOKEN" gets 401 (GatedRepo)
  norange:PATH   its bodies ignore Range (200 with the whole file)
  gone:PATH      its resolve URL answers 404 EntryNotFound (listed, but not there)
  moved:OLD/NAME the repository's former name: its API and resolve URLs answer 307 with a
                 relative Location under the current name (a renamed repository)
The port goes to --port-file once listening; each request is logged to --log as
"METHOD PATH RANGE" lines.
"""
import argparse, hashlib, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, repo_id, root):
        self.id, self.root, self.files = repo_id, root, {}
        for dirpath, _, names in os.walk(root):
            for n in sorted(names):
                full = os.path.join(dirpath, n)
                rel = os.path.relpath(full, root)
                data = open(full, "rb").read()
                e = {"path": rel, "size": len(data), "data": data, "oid": git_blob_sha1(data)}
                if rel.endswith(LFS_SUFFIXES):
                    sha = hashlib.sha256(data).hexdigest()
                    pointer = ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha, len(data))).encode()
                    e.update(sha256=sha, oid=git_blob_sha1(pointer), pointer_size=len(pointer))
                self.files[rel] = e
        listing = "".join("%s %s\n" % (p, self.files[p]["oid"]) for p in sorted(self.files))
        self.commit = hashlib.sha1(listing.encode()).hexdigest()
        self.by_sha = {e["sha256"]: e for e in self.files.values() if "sha256" in e}

    def entry_json(self, e):
        j = {"type": "file", "oid": e["oid"], "size": e["size"], "path": e["path"]}
        if "sha256" in e:
            j["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": e["pointer_size"]}
        return j


class State:
    lock = threading.Lock()
    cut_done = set()
    e500_left = 0


def make_handler(repo, faults, log_path):
    org_name = repo.id

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def log(self):
            if log_path:
                with State.lock, open(log_path, "a") as f:
                    f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

        def send(self, code, body=b"", headers=(), ctype="application/json"):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, code, err, msg):
            self.send(code, json.dumps({"error": msg}).encode(),
                      [("X-Error-Code", err), ("X-Error-Message", msg), ("X-Repo-Commit", repo.commit)] if err == "EntryNotFound"
                      else [("X-Error-Code", err), ("X-Error-Message", msg)])

        def gate(self):
            with State.lock:
                if State.e500_left > 0:
                    State.e500_left -= 1
                    self.send(500, b'{"error":"injected"}')
                    return False
            tok = faults.get("token")
            if tok and self.headers.get("Authorization") != "Bearer " + tok:
                self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be authenticated." % org_name)
                return False
            return True

        def rev_ok(self, rev):
            if unquote(rev) in ("main", "HEAD", repo.commit):
                return True
            self.error(404, "RevisionNotFound", "Invalid rev id: " + unquote(rev))
            return False

        def body(self, e, extra=None):
            """Send e's bytes (Range honoured) with the faults of its path; extra: headers (ETag
            defaults to the sha256 of an LFS file, as a CDN has it)."""
            data, path = e["data"], e["path"]
            start = 0
            rng = self.headers.get("Range")
            hdr = []
            code = 200
            if rng and rng.startswith("bytes=") and "norange:" + path not in faults:
                a, _, b = rng[6:].partition("-")
                start = int(a)
                end = int(b) + 1 if b else len(data)
                if start >= len(data):
                    return self.send(416, b"", [("Content-Range", "bytes */%d" % len(data))])
                end = min(end, len(data))
                hdr.append(("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(data))))
                code = 206
                data = data[start:end]
            else:
                end = len(data)
            if "wrong:" + path in faults:
                data = bytes(b ^ 0x5A for b in data)
            cut = None
            with State.lock:
                if "cut:" + path in faults and path not in State.cut_done and self.command == "GET":
                    State.cut_done.add(path)
                    cut = len(data) // 2
            if "cutall:" + path in faults:
                cut = len(data) // 2
            slow = "slow:" + path in faults
            self.send_response(code)
            for k, v in hdr + [("Accept-Ranges", "bytes")] + (extra or [("ETag", '"%s"' % e.get("sha256", e["oid"]))]):
                self.send_header(k, v)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if slow:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                time.sleep(30)
                self.close_connection = True
                return
            if "drip:" + path in faults:
                step = max(1, len(data) // 20)
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.05)
                return
            if cut is not None:
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            self.log()
            if not self.gate():
                return
            url = urlsplit(self.path)
            p = url.path
            old = faults.get("moved")
            if old:
                for a, b in (("/api/models/" + old + "/", "/api/models/" + org_name + "/"), ("/" + old + "/", "/" + org_name + "/")):
                    if p.startswith(a):
                        return self.send(307, b"", [("Location", b + p[len(a):])])
            api = "/api/models/" + org_name
            if p.startswith("/cdn/"):
                e = repo.by_sha.get(p[5:])
                return self.body(e) if e else self.send(404, b"{}")
            if p == api or p.startswith(api + "/revision/"):
                rev = p[len(api + "/revision/"):] if p != api else "main"
                if not self.rev_ok(rev):
                    return
                info = {"_id": "0" * 24, "id": org_name, "modelId": org_name, "sha": repo.commit,
                        "private": False, "gated": bool(faults.get("token")), "downloads": 0, "likes": 0,
                        "lastModified": "2025-01-01T00:00:00.000Z", "pipeline_tag": "text-generation",
                        "siblings": [{"rfilename": f} for f in sorted(repo.files)]}
                return self.send(200, json.dumps(info).encode())
            if p.startswith(api + "/tree/"):
                rest = p[len(api + "/tree/"):]
                rev, _, sub = rest.partition("/")
                if not self.rev_ok(rev):
                    return
                items = [repo.entry_json(e) for k, e in sorted(repo.files.items()) if not sub or k.startswith(sub + "/")]
                return self.send(200, json.dumps(items).encode())
            prefix = "/" + org_name + "/resolve/"
            if p.startswith(prefix):
                rev, _, fpath = p[len(prefix):].partition("/")
                if not self.rev_ok(rev):
                    return
                e = repo.files.get(unquote(fpath))
                if not e or "gone:" + unquote(fpath) in faults:
                    return self.error(404, "EntryNotFound", "Entry not found")
                common = [("X-Repo-Commit", repo.commit)]
                if "sha256" in e:
                    host = self.headers.get("Host", "127.0.0.1")
                    loc = "http://%s/cdn/%s" % (host, e["sha256"])
                    return self.send(302, b"", common + [
                        ("ETag", '"%s"' % e["oid"]), ("X-Linked-Etag", '"%s"' % e["sha256"]),
                        ("X-Linked-Size", str(e["size"])), ("Location", loc)])
                return self.body(e, common + [("ETag", '"%s"' % e["oid"])])
            if p.startswith("/" + org_name.split("/")[0] + "/"):
                return self.error(404, "RepoNotFound", "Repository not found")
            return self.send(404, b"{}")

        def do_POST(self):
            self.log()
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            if not self.gate():
                return
            p = urlsplit(self.path).path
            api = "/api/models/" + org_name + "/paths-info/"
            if not p.startswith(api):
                return self.send(404, b"{}")
            if not self.rev_ok(p[len(api):]):
                return
            req = json.loads(raw or b"{}")
            out = []
            for q in req.get("paths", []):
                e = repo.files.get(q)
                if e:
                    j = repo.entry_json(e)
                    j["lastCommit"] = {"id": repo.commit, "title": "init", "date": "2025-01-01T00:00:00.000Z"}
                    j["securityFileStatus"] = {"status": "safe"}
                    out.append(j)
            self.send(200, json.dumps(out).encode())

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True, help="ORG/NAME")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--fault", action="append", default=[])
    a = ap.parse_args()
    faults = {}
    for f in a.fault:
        k, _, v = f.partition(":")
        if k in ("cut", "cutall", "wrong", "slow", "drip", "gone", "norange"):
            faults[k + ":" + v] = True
        elif k == "e500":
            State.e500_left = int(v)
        elif k == "moved":
            faults["moved"] = v
        elif k == "token":
            faults["token"] = v
        else:
            sys.exit("hub_server: unknown fault " + f)
    repo = Repo(a.repo, a.dir)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(repo, faults, a.log))
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
