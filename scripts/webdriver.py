"""A minimal W3C WebDriver client for headless Chromium (chromedriver over plain HTTP, no
extra packages), shared by the explorer end-to-end test and the browser benchmarks."""
import base64, json, socket, subprocess, tempfile, time, urllib.error, urllib.request

ELEMENT = "element-6066-11e4-a52f-4a7d1f9aad17"


def free_port():
    """A free TCP port on 127.0.0.1."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    """One headless Chromium session (`--no-sandbox`: we run as root)."""

    def __init__(self, width=1200, height=900):
        self.port = free_port()
        self.driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self.call("GET", "/status", base=True)
                break
            except Exception:
                time.sleep(0.1)
        self.profile = tempfile.mkdtemp()
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", f"--user-data-dir={self.profile}"]}}}}
        self.session = self.call("POST", "/session", caps, base=True)["sessionId"]

    def call(self, method, path, body=None, base=False):
        """A WebDriver command; `path` is relative to the session unless `base`."""
        prefix = f"http://127.0.0.1:{self.port}" + ("" if base else f"/session/{self.session}")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(prefix + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.read().decode()[:300]}")

    def go(self, url):
        self.call("POST", "/url", {"url": url})

    def find(self, css, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            found = self.call("POST", "/elements", {"using": "css selector", "value": css})
            if found:
                el = found[0]
                return el.get(ELEMENT) or next(iter(el.values()))
            time.sleep(0.1)
        raise RuntimeError(f"no element {css!r}")

    def exists(self, css):
        return bool(self.call("POST", "/elements", {"using": "css selector", "value": css}))

    def text(self, css):
        return self.call("GET", f"/element/{self.find(css)}/text")

    def wait_text(self, css, needle, timeout=20):
        end = time.time() + timeout
        t = ""
        while time.time() < end:
            t = self.text(css)
            if needle in t:
                return t
            time.sleep(0.1)
        return t

    def wait_value(self, css, want, timeout=20):
        """Waits until the element's `value` property equals `want` (it may not exist yet,
        e.g. right after a reload); returns the last value seen."""
        end = time.time() + timeout
        got = None
        while time.time() < end:
            try:
                got = self.call("GET", f"/element/{self.find(css)}/property/value")
            except Exception:
                got = None
            if got == want:
                return got
            time.sleep(0.1)
        return got

    def click(self, css):
        self.call("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text, clear=False):
        el = self.find(css)
        if clear:
            self.call("POST", f"/element/{el}/clear", {})
        self.call("POST", f"/element/{el}/value", {"text": text})

    def script(self, js, *args):
        return self.call("POST", "/execute/sync", {"script": js, "args": list(args)})

    def script_async(self, js, *args):
        """Runs `js` with a callback as its last argument; returns what it passes."""
        return self.call("POST", "/execute/async", {"script": js, "args": list(args)})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", "/screenshot")))

    def console_errors(self):
        """The page's console errors since the last call. Raises if the log cannot be read:
        an unreadable log must not pass for a clean one (see `probe_console`)."""
        logs = self.call("POST", "/se/log", {"type": "browser"})
        if not isinstance(logs, list):
            raise RuntimeError(f"browser log unreadable: {logs!r}")
        return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]

    def probe_console(self, marker="oanix-console-probe"):
        """Logs an error from the page and checks `console_errors` sees it: proof that a
        clean log later means a clean page. Returns the errors logged before the probe."""
        self.script(f"console.error({marker!r});")
        errs = self.console_errors()
        if not any(marker in e for e in errs):
            raise RuntimeError(f"console probe not seen in the browser log: {errs!r}")
        return [e for e in errs if marker not in e]

    def close(self):
        try:
            self.call("DELETE", "")
        finally:
            self.driver.terminate()
