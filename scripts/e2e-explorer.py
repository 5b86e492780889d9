#!/usr/bin/env python3
"""End-to-end test of the Namespace Explorer as a person uses it, in real headless Chromium
driven over the W3C WebDriver protocol (chromedriver; plain HTTP, no extra packages).

Usage: scripts/e2e-explorer.py URL OUT_DIR [LOOP_WASM]
Checks: the page lists the namespace; Run executes the sample guest in the worker and
streams its coloured output; the file the guest wrote appears in the tree and is still
there after a reload (IndexedDB); a bad module is
refused with a message; a spinning guest is stopped by the timeout (the worker is
terminated) and the page stays responsive. Saves screenshots in OUT_DIR.
"""
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.request

URL, OUT = sys.argv[1], sys.argv[2]
LOOP = sys.argv[3] if len(sys.argv) > 3 else None
ELEMENT = "element-6066-11e4-a52f-4a7d1f9aad17"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


port = free_port()
driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
BASE = f"http://127.0.0.1:{port}"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.read().decode()[:300]}")


for _ in range(100):
    try:
        call("GET", "/status")
        break
    except Exception:
        time.sleep(0.1)

profile = tempfile.mkdtemp()
session = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
    "binary": "/usr/bin/chromium",
    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--window-size=1200,900", f"--user-data-dir={profile}"]}}}})["sessionId"]
S = f"/session/{session}"
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def find(css, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        found = call("POST", S + "/elements", {"using": "css selector", "value": css})
        if found:
            el = found[0]
            return el.get(ELEMENT) or next(iter(el.values()))
        time.sleep(0.1)
    raise RuntimeError(f"no element {css!r}")


def text(css):
    return call("GET", f"{S}/element/{find(css)}/text")


def wait_text(css, needle, timeout=20):
    end = time.time() + timeout
    t = ""
    while time.time() < end:
        t = text(css)
        if needle in t:
            return t
        time.sleep(0.1)
    return t


def click(css):
    call("POST", f"{S}/element/{find(css)}/click", {})


def screenshot(name):
    png = call("GET", S + "/screenshot")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(base64.b64decode(png))
    print(f"ok: screenshot {OUT}/{name}")


def console_errors():
    try:
        logs = call("POST", S + "/se/log", {"type": "browser"}) or []
    except Exception:
        return []
    return [l["message"] for l in logs if l.get("level") == "SEVERE"]


try:
    call("POST", S + "/url", {"url": URL})
    mounts = wait_text(".mounts", "/workspace")
    for m in ["/task", "/workspace", "/logs", "/tmp"]:
        check(m in mounts, f"mount {m} listed")
    tree = text(".tree")
    check("spec.json" in tree and "hello.txt" in tree, "tree shows /task/spec.json and /workspace/src/hello.txt")
    check("hello-run.txt" not in tree, "no hello-run.txt before the run")

    click(".run-button")
    out = wait_text(".run-output", "guest running in your browser")
    check("hello from a WASI guest running in your browser" in out, "sample output streamed to the page")
    status = wait_text(".run-status", "exit code")
    check("exit code 0" in status, f"exit code shown ({status!r})")
    colored = call("POST", S + "/elements", {"using": "css selector", "value": ".run-output .fg-2"})
    check(bool(colored), "ANSI green rendered as a coloured span")
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "the file the guest wrote appears in /workspace")
    screenshot("explorer.png")

    saved = wait_text(".save-status", "saved (")
    check(saved.startswith("saved ("), f"the change was saved to IndexedDB ({saved!r})")
    call("POST", S + "/refresh", {})
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "after a reload the file is still there (restored from IndexedDB)")
    saved = wait_text(".save-status", "saved (")
    check("saved (0 written)" in saved, f"reloading writes nothing new ({saved!r})")

    # Create and edit a file through the UI, save with Ctrl-S, reload: it is still there.
    call("POST", S + "/url", {"url": URL + "#/workspace"})
    name = find(".new-name")
    call("POST", f"{S}/element/{name}/value", {"text": "notes.txt"})
    click(".new-file")
    editor = find(".editor")
    call("POST", f"{S}/element/{editor}/value", {"text": "written in the browser"})
    call("POST", f"{S}/element/{editor}/value", {"text": "\ue009s\ue009"})  # Ctrl-S
    msg = wait_text(".save-status", "saved (1 written)")
    check(msg == "saved (1 written)", f"Ctrl-S saves the edited file, one record written ({msg!r})")
    call("POST", S + "/refresh", {})
    value = call("GET", f"{S}/element/{find('.editor')}/property/value")
    check(value == "written in the browser", f"after a reload #/workspace/notes.txt shows the saved text ({value!r})")

    # Rename it through the file view.
    rn = find(".rename-name")
    call("POST", f"{S}/element/{rn}/clear", {})
    call("POST", f"{S}/element/{rn}/value", {"text": "renamed.txt"})
    click(".rename-button")
    tree = wait_text(".tree", "renamed.txt")
    check("renamed.txt" in tree and "notes.txt" not in tree, "rename moves notes.txt to renamed.txt")

    # Upload a file into /workspace through the file input (what a drop does too).
    call("POST", S + "/url", {"url": URL + "#/workspace"})
    up = os.path.join(profile, "uploaded.txt")
    with open(up, "w") as f:
        f.write("uploaded from disk")
    call("POST", f"{S}/element/{find('.upload-input')}/value", {"text": up})
    tree = wait_text(".tree", "uploaded.txt")
    check("uploaded.txt" in tree, "an uploaded file appears in /workspace")

    # Named namespaces: save this one as "second", it is listed.
    click(".saved summary")
    call("POST", f"{S}/element/{find('.save-as-name')}/value", {"text": "second"})
    click(".save-as")
    listed = wait_text(".saved-panel ul", "second")
    check("second" in listed and "default" in listed, f"saved namespaces listed ({listed!r})")
    click(".saved summary")

    # An unknown path in the URL is an error on the page, not a crash.
    call("POST", S + "/url", {"url": URL + "#/no/such/path"})
    err = wait_text(".content .error", "no/such/path")
    check("no/such/path" in err, f"unknown path in the URL reported ({err!r})")
    call("POST", S + "/url", {"url": URL + "#/"})

    bad = os.path.join(profile, "not-wasm.wasm")
    with open(bad, "w") as f:
        f.write("this is not wasm")
    call("POST", f"{S}/element/{find('.run-panel input[type=file]')}/value", {"text": bad})
    status = wait_text(".run-status", "not a WebAssembly module")
    check("not a WebAssembly module" in status, "a bad module is refused with a clear message")

    if LOOP:
        call("POST", f"{S}/element/{find('.run-panel input[type=file]')}/value", {"text": os.path.abspath(LOOP)})
        wait_text(".module-name", "infinite_loop")
        t = find("input[type=number]")
        call("POST", f"{S}/element/{t}/clear", {})
        call("POST", f"{S}/element/{t}/value", {"text": "1"})
        click(".run-button")
        out = wait_text(".run-output", "looping")
        check("looping" in out, "the spinning guest started (its output streamed)")
        status = wait_text(".run-status", "timed out", timeout=15)
        check("timed out" in status, f"the spinning guest was stopped by the timeout ({status!r})")
        # The page still answers: the panel accepts the sample again and runs it.
        click(".run-panel button.link")
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=20)
        check("exit code 0" in status, "a new worker runs the sample after the timeout")
    errs = [e for e in console_errors() if "favicon" not in e]
    check(not errs, f"no console errors {errs[:3]}")
finally:
    try:
        call("DELETE", S)
    finally:
        driver.terminate()

print(f"e2e: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
