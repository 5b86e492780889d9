#!/usr/bin/env python3
"""Runs bench/browser-wasi-shim in headless Chromium and prints its figures: the same bench
guests as the OANIX browser bench, on @bjorn3/browser_wasi_shim (npm), in the same browser.

Usage: scripts/bench-browser-shim.py [WRITES] [MIB] [CPU]   (guests and npm deps installed)
"""
import functools, http.server, os, sys, threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench", "browser-wasi-shim")
GUESTS = os.path.join(ROOT, "target", "wasm32-wasip1", "release")
writes, mib, cpu = (sys.argv[1:] + ["20000", "64", "5"][len(sys.argv) - 1:])[:3]


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        path = path.split("?")[0]
        if path.startswith("/guests/"):
            return os.path.join(GUESTS, os.path.basename(path))
        return super().translate_path(path)

    def log_message(self, *args):
        pass


Handler.extensions_map[".js"] = "text/javascript"
port = free_port()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=BENCH))
threading.Thread(target=server.serve_forever, daemon=True).start()
b = Browser()
try:
    b.go(f"http://127.0.0.1:{port}/index.html?writes={writes}&mib={mib}&cpu={cpu}")
    b.find("#done", timeout=1800)
    print(b.text("#out"))
finally:
    b.close()
    server.shutdown()
