#!/usr/bin/env python3
"""Serves a local WASI testsuite checkout to the browser run of the suite
(tests/tests/browser_wasi_testsuite.rs), on 127.0.0.1 with CORS so the test page may fetch:

  GET /manifest.json   every preview1 test: name, wasm path, its JSON spec, and the files,
                       directories and symlinks of its `root` directory
  GET /files/PATH      a file of the suite, relative to SUITE_DIR

Usage: scripts/serve-testsuite.py SUITE_DIR PORT
"""
import glob, http.server, json, os, sys

SUITE, PORT = os.path.abspath(sys.argv[1]), int(sys.argv[2])


def manifest():
    tests = []
    for wasm in sorted(glob.glob(os.path.join(SUITE, "*", "testsuite", "wasm32-wasip1", "*.wasm"))):
        spec_path = wasm[:-5] + ".json"
        spec = json.load(open(spec_path)) if os.path.exists(spec_path) else {}
        entries = []
        root = spec.get("root")
        if root:
            base = os.path.join(os.path.dirname(wasm), root)
            for dirpath, dirnames, filenames in os.walk(base):
                for n in sorted(dirnames + filenames):
                    full = os.path.join(dirpath, n)
                    rel = os.path.relpath(full, base)
                    if n.endswith(".cleanup"):
                        continue
                    if os.path.islink(full):
                        entries.append({"path": rel, "kind": "symlink", "target": os.readlink(full)})
                    elif os.path.isdir(full):
                        entries.append({"path": rel, "kind": "dir"})
                    else:
                        entries.append({"path": rel, "kind": "file",
                                        "url": "/files/" + os.path.relpath(full, SUITE)})
        tests.append({"name": os.path.relpath(wasm, SUITE),
                      "wasm": "/files/" + os.path.relpath(wasm, SUITE),
                      "spec": spec, "root": entries})
    return json.dumps(tests).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/manifest.json":
            body, kind = manifest(), "application/json"
        elif self.path.startswith("/files/"):
            full = os.path.realpath(os.path.join(SUITE, self.path[len("/files/"):]))
            if not full.startswith(SUITE + os.sep) or not os.path.isfile(full):
                self.send_error(404)
                return
            body, kind = open(full, "rb").read(), "application/octet-stream"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
