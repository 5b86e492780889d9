#!/usr/bin/env python3
"""End-to-end test of the Namespace Explorer as a person uses it, in real headless Chromium
driven over the W3C WebDriver protocol (chromedriver; plain HTTP, no extra packages).

Usage: scripts/e2e-explorer.py URL OUT_DIR [LOOP_WASM [NET_WASM TEST_SERVER_URL]]
Checks: the page lists the namespace (a real OanixEnv: /task, /workspace, /logs, /tmp,
/env, /jobs); read-only files have no Save/Rename/Delete and /task/result.json takes only
valid JSON; Run executes the sample guest in the engine worker (compiled in a nested worker, run in place
with JSPI) and streams its coloured output;
what the guest wrote waits for review (added file, text diff) and appears in the tree only
after Commit, and is still there after a reload (IndexedDB/OPFS); the Environment, Logs,
Events and ATIF views show the run (status completed, stdout, events, steps with the tool
call and its observation); a discarded run leaves no file; "apply without review" applies
at once; jobs are listed from /jobs and their changes reviewed too; a bad module is
refused with a message; a spinning guest is stopped by the timeout (at its next tick) and
the page stays responsive; two runs at once see each other's files (one review overlay),
and a spinning guest stopped beside a run blocked on stdin leaves that run and the
namespace intact; a guest writing 65 MiB costs its own time plus a little (printed) with
no main-thread task over 50 ms (PerformanceObserver), and a reload restores that large
workspace (time printed); with NET_WASM, the `net` guest reaches the
loopback test server through /cap/http and /cap/ws from the Run panel (same stdout as
tests/net_guest.stdout) and the WebSocket view lists its connections; with
OANIX_E2E_NOSTR_RELAY/_MODULE set, the Nostr panel's kind-5600 job runs on `oanix provider`
and its stdout is shown. Saves screenshots in OUT_DIR.
"""
import os, re, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser  # noqa: E402

URL, OUT = sys.argv[1], sys.argv[2]
LOOP = sys.argv[3] if len(sys.argv) > 3 else None
NET, NET_URL = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
EXPECTED_NET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "net_guest.stdout")
# Nostr: a relay with `oanix provider` serving it, and the URL of a module to run there.
NOSTR_RELAY = os.environ.get("OANIX_E2E_NOSTR_RELAY")
NOSTR_MODULE = os.environ.get("OANIX_E2E_NOSTR_MODULE")
b = Browser()
profile = b.profile
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


OPFS_READ = """
const [name, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  let d = await navigator.storage.getDirectory();
  d = await d.getDirectoryHandle('oanix-workspace');
  const f = await (await d.getFileHandle(name)).getFile();
  done(await f.text());
})().catch(e => done('missing: ' + e));
"""


OPFS_SIZE = """
const [name, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  let d = await navigator.storage.getDirectory();
  d = await d.getDirectoryHandle('oanix-workspace');
  done((await (await d.getFileHandle(name)).getFile()).size);
})().catch(e => done(-1));
"""


IDB = """
const done = arguments[arguments.length - 1];
const r = indexedDB.open('oanix-explorer');
r.onerror = () => done('cannot open: ' + r.error);
r.onsuccess = () => {
  const db = r.result;
  const tx = db.transaction('namespaces', 'readwrite');
  const req = WORK(tx.objectStore('namespaces'));
  tx.oncomplete = () => { db.close(); done(req.result); };
  tx.onerror = () => done('error: ' + tx.error);
};
"""
# Puts arguments[1] as the saved namespace arguments[0]'s manifest / reads it back.
IDB_PUT = IDB.replace("WORK(", "(s => s.put(arguments[1], arguments[0]))(")
IDB_GET = IDB.replace("WORK(", "(s => s.get(arguments[0]))(")


def opfs_text(name, want, timeout=10):
    """The text of /workspace/NAME as stored in OPFS (waits for the background flush)."""
    import time
    end = time.time() + timeout
    got = None
    while time.time() < end:
        got = b.script_async(OPFS_READ, name)
        if got == want:
            break
        time.sleep(0.2)
    return got


def screenshot(name):
    b.screenshot(os.path.join(OUT, name))
    print(f"ok: screenshot {OUT}/{name}")


find, text, wait_text, click = b.find, b.text, b.wait_text, b.click


def pick_module(path, name):
    """Chooses the .wasm at `path` in the Run panel; returns the module name shown."""
    b.call("POST", f"/element/{find('.run-panel input[type=file]')}/value",
           {"text": os.path.abspath(path)})
    return wait_text(".module-name", name)


try:
    b.go(URL)
    mounts = wait_text(".mounts", "/workspace")
    paints = b.script("return performance.getEntriesByType('paint')"
                      ".map(e => e.name + ' ' + e.startTime.toFixed(0) + ' ms').join(', ')")
    print(f"info: {paints}")
    for m in ["/task", "/workspace", "/logs", "/tmp", "/env", "/jobs"]:
        check(m in mounts, f"mount {m} listed")
    check("taskfs" in mounts and "logsfs" in mounts and "jobsfs" in mounts,
          f"/task, /logs and /jobs are the standard services ({mounts!r})")
    tree = text(".tree")
    check("spec.json" in tree and "hello.txt" in tree, "tree shows /task/spec.json and /workspace/src/hello.txt")
    check("hello-run.txt" not in tree, "no hello-run.txt before the run")

    # Read-only files offer no Save/Rename/Delete; result.json takes valid JSON only.
    b.go(URL + "#/task/spec.json")
    find(".editor")
    check(not b.exists(".save-button") and not b.exists(".rename-button") and not b.exists(".delete-button")
          and b.exists(".readonly-note"), "/task/spec.json is shown read-only (no Save, Rename, Delete)")
    b.go(URL + "#/logs/stdout.log")
    find(".file-actions")
    check(not b.exists(".save-button") and not b.exists(".delete-button"),
          "/logs/stdout.log (append-only) has no Save or Delete")
    b.go(URL + "#/task/result.json")
    editor = find(".editor")
    check(b.exists(".save-button") and not b.exists(".rename-button"),
          "/task/result.json can be saved but not renamed")
    b.call("POST", f"/element/{editor}/value", {"text": "{oops"})
    click(".save-button")
    msg = wait_text(".file-message", "cannot save")
    check("cannot save" in msg and "JSON" in msg, f"invalid JSON refused by /task/result.json ({msg!r})")
    b.call("POST", f"/element/{editor}/clear", {})
    b.call("POST", f"/element/{editor}/value", {"text": '{"words": 11}'})
    click(".save-button")
    b.go(URL + "#/")
    b.go(URL + "#/task/result.json")
    got = b.wait_value(".editor", '{"words": 11}')
    check(got == '{"words": 11}', f"valid JSON saved to /task/result.json ({got!r})")
    b.go(URL + "#/")

    click(".run-button")
    out = wait_text(".run-output", "guest running in your browser")
    check("hello from a WASI guest running in your browser" in out, "sample output streamed to the page")
    status = wait_text(".run-status", "Review")
    check("exit code 0" in status, f"exit code shown ({status!r})")
    check("sent to the Review panel" in status, f"the run's changes wait for review ({status!r})")
    colored = b.call("POST", "/elements", {"using": "css selector", "value": ".run-output .fg-2"})
    check(bool(colored), "ANSI green rendered as a coloured span")
    review = wait_text(".review", "hello-run.txt")
    check("added" in review and "/workspace/hello-run.txt" in review,
          f"the review lists the added /workspace/hello-run.txt ({review!r})")
    check("+ this file was written by hello.wasm" in text(".review .diff"), "the review shows the text diff")
    check("hello-run.txt" not in text(".tree"), "before Commit the file is not in the namespace")
    screenshot("review.png")
    click(".review-commit")
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "after Commit the file the guest wrote appears in /workspace")
    check(b.exists(".review-empty"), "nothing left to review after Commit")
    screenshot("explorer.png")

    # The agent views: env and task status, logs, events, the ATIF trajectory as steps.
    click(".tab-env")
    env = wait_text(".env-status", "completed")
    check("explorer" in env and "completed" in env, f"the env status view shows the completed run ({env!r})")
    task = text(".task-status")
    check("completed" in task and '"words": 11' in task, f"the task status and result are shown ({task!r})")
    click(".tab-logs")
    logs = wait_text(".logs-stdout", "hello from a WASI guest")
    check("hello from a WASI guest" in logs, "/logs/stdout.log holds the run's output")
    click(".tab-events")
    events = wait_text(".events", "run ended")
    check("run started" in events and "run ended: exit code 0" in events, f"events logged ({events!r})")
    click(".tab-atif")
    steps = wait_text(".atif-steps", "wasi.run")
    n = len(b.call("POST", "/elements", {"using": "css selector", "value": ".atif-step"}))
    check(n >= 2, f"the trajectory is rendered as steps ({n})")
    check("user" in steps and "agent" in steps and "wasi.run" in steps
          and "hello from a WASI guest" in text(".atif-steps .observation"),
          f"ATIF steps show source, message, tool call and observation ({steps[:200]!r})")
    check("schema_version" not in steps, "the trajectory is not shown as raw JSON")
    b.script("document.querySelector('.agent-panel').scrollIntoView()")
    screenshot("atif.png")

    got = opfs_text("hello-run.txt", "this file was written by hello.wasm\n")
    check(got == "this file was written by hello.wasm\n",
          f"the guest's file is on OPFS, the browser's filesystem ({got!r})")
    saved = wait_text(".save-status", "saved (")
    check(saved.startswith("saved ("), f"the namespace was saved to IndexedDB ({saved!r})")
    b.call("POST", "/refresh", {})
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "after a reload the file is still there (OPFS /workspace)")
    saved = wait_text(".save-status", "saved (")
    check("saved (0 written)" in saved, f"reloading writes nothing new ({saved!r})")

    # Create and edit a file through the UI, save with Ctrl-S, reload: it is still there.
    b.go(URL + "#/workspace")
    name = find(".new-name")
    b.call("POST", f"/element/{name}/value", {"text": "notes.txt"})
    click(".new-file")
    editor = find(".editor")
    b.call("POST", f"/element/{editor}/value", {"text": "written in the browser"})
    b.call("POST", f"/element/{editor}/value", {"text": "\ue009s\ue009"})  # Ctrl-S
    got = opfs_text("notes.txt", "written in the browser")
    check(got == "written in the browser", f"Ctrl-S saves the edited file to OPFS ({got!r})")
    b.call("POST", "/refresh", {})
    value = b.wait_value(".editor", "written in the browser")
    check(value == "written in the browser", f"after a reload #/workspace/notes.txt shows the saved text ({value!r})")

    # Rename it through the file view.
    b.type(".rename-name", "renamed.txt", clear=True)
    click(".rename-button")
    tree = wait_text(".tree", "renamed.txt")
    check("renamed.txt" in tree and "notes.txt" not in tree, "rename moves notes.txt to renamed.txt")

    # Upload a file into /workspace through the file input (what a drop does too).
    b.go(URL + "#/workspace")
    up = os.path.join(profile, "uploaded.txt")
    with open(up, "w") as f:
        f.write("uploaded from disk")
    b.call("POST", f"/element/{find('.upload-input')}/value", {"text": up})
    tree = wait_text(".tree", "uploaded.txt")
    check("uploaded.txt" in tree, "an uploaded file appears in /workspace")

    # Named namespaces: save this one as "second", it is listed.
    click(".saved summary")
    b.call("POST", f"/element/{find('.save-as-name')}/value", {"text": "second"})
    click(".save-as")
    listed = wait_text(".saved-panel ul", "second")
    check("second" in listed and "default" in listed, f"saved namespaces listed ({listed!r})")
    click(".saved summary")

    # An unknown path in the URL is an error on the page, not a crash.
    b.go(URL + "#/no/such/path")
    err = wait_text(".content .error", "no/such/path")
    check("no/such/path" in err, f"unknown path in the URL reported ({err!r})")
    b.go(URL + "#/")

    # Discard: the run's new file never reaches the namespace.
    b.go(URL + "#/workspace/hello-run.txt")
    b.type(".rename-name", "kept.txt", clear=True)
    click(".rename-button")
    wait_text(".tree", "kept.txt")
    b.go(URL + "#/workspace")
    click(".run-button")
    review = wait_text(".review", "hello-run.txt", timeout=30)
    check("added" in review, f"a second run's file waits for review ({review!r})")
    click(".review-discard")
    b.find(".review-empty")
    tree = text(".tree")
    check("hello-run.txt" not in tree and "kept.txt" in tree, "after Discard the namespace is as it was")
    msg = text(".review-message")
    check("discarded" in msg, f"discard reported ({msg!r})")

    # The setting: apply without review.
    click(".auto-apply")
    click(".run-button")
    status = wait_text(".run-status", "without review", timeout=30)
    check("applied without review" in status, f"with the setting the run applies at once ({status!r})")
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree and b.exists(".review-empty"), "the file is there, nothing to review")
    click(".auto-apply")

    bad = os.path.join(profile, "not-wasm.wasm")
    with open(bad, "w") as f:
        f.write("this is not wasm")
    b.call("POST", f"/element/{find('.run-panel input[type=file]')}/value", {"text": bad})
    status = wait_text(".run-status", "not a WebAssembly module")
    check("not a WebAssembly module" in status, "a bad module is refused with a clear message")

    if LOOP:
        pick_module(LOOP, "infinite_loop")
        b.type("input[type=number]", "1", clear=True)
        click(".run-button")
        out = wait_text(".run-output", "looping")
        check("looping" in out, "the spinning guest started (its output streamed)")
        status = wait_text(".run-status", "timed out", timeout=15)
        check("timed out" in status, f"the spinning guest was stopped by the timeout ({status!r})")
        # The page still answers: the panel accepts the sample again and runs it.
        click(".run-panel button.link")
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=20)
        check("exit code 0" in status, "the page runs the sample after the timeout")

        # Runs in the engine worker share the namespace: A writes a.txt and waits for a line on its
        # stdin; B, started meanwhile, reads a.txt and writes b.txt; a spinning guest beside
        # them is stopped; A, given its line, reads b.txt. All in one review overlay.
        guests = os.path.dirname(os.path.abspath(LOOP))

        def pick(file, name):
            pick_module(os.path.join(guests, file), name)

        def set_timeout(s):
            b.type("input[type=number]", s, clear=True)

        def keep_stdin(on):
            if b.script("return document.querySelector('.keep-stdin').checked") != on:
                click(".keep-stdin")

        pick("fsutil.wasm", "fsutil")
        set_timeout("60")
        keep_stdin(True)
        b.type(".run-args", "write /workspace/a.txt fromA pause cat /workspace/b.txt", clear=True)
        click(".run-button")
        wait_text(".run-list", "running", timeout=20)
        keep_stdin(False)
        b.type(".run-args", "cat /workspace/a.txt write /workspace/b.txt fromB", clear=True)
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=20)
        check("exit code 0" in status, f"run B ended while run A still runs ({status!r})")
        check("fromA" in text(".run-output"), "run B read the file run A wrote (both running)")
        pick("infinite_loop.wasm", "infinite_loop")
        click(".run-button")
        wait_text(".run-output", "looping", timeout=20)
        click(".cancel-button")
        status = wait_text(".run-status", "stopped", timeout=20)
        check("stopped on request" in status, f"the spinning guest is stopped ({status!r})")
        # An absurd timeout (1e20 s) is taken as the longest one, not a crash of the page.
        pick("fsutil.wasm", "fsutil")
        set_timeout("1e20")
        b.type(".run-args", "cat /workspace/a.txt", clear=True)
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=20)
        check("exit code 0" in status, f"a run with a 1e20 s timeout runs ({status!r})")
        set_timeout("60")
        a = ".run-list li.running"
        check("running" in text(a), f"run A is still waiting on its stdin ({text(a)!r})")
        click(a + " .run-select")
        b.type(a + " .run-stdin-line", "go")
        click(a + " .send-stdin")
        status = wait_text(".run-status", "exit code", timeout=20)
        check("exit code 0" in status, f"run A ended after its input ({status!r})")
        check("fromB" in text(".run-output"), "run A read the file run B wrote")
        review = wait_text(".review", "b.txt", timeout=20)
        check("/workspace/a.txt" in review and "/workspace/b.txt" in review,
              f"one review holds both runs' files ({review[:300]!r})")
        click(".review-commit")
        tree = wait_text(".tree", "b.txt")
        check("a.txt" in tree and "b.txt" in tree, "committed: both files in the namespace")
        check(b.exists(".review-empty"), f"nothing left to review ({text('.review-panel')[:300]!r})")
        click(".run-panel button.link")  # the sample again, for the jobs below

    # Jobs: three sample jobs complete; a spinning job times out; a running one is cancelled.
    # Their changes are reviewed like a run's (hello-run.txt renamed away first).
    b.go(URL + "#/workspace/hello-run.txt")
    b.type(".rename-name", "kept2.txt", clear=True)
    click(".rename-button")
    wait_text(".tree", "kept2.txt")
    b.go(URL + "#/")
    b.type(".job-count", "3", clear=True)
    click(".queue-button")
    jobs = ""
    for _ in range(100):
        jobs = text(".jobs")
        if jobs.count("completed") >= 3:
            break
        time.sleep(0.2)
    check(jobs.count("completed") >= 3, f"3 sample jobs completed ({jobs!r})")
    check("#1" in jobs and "#3" in jobs, f"the job list (read from /jobs) lists the jobs ({jobs!r})")
    # Modules stay compiled: three more jobs of the same module compile nothing more.
    def compiled():
        m = re.search(r"(\d+) job\(s\) ran in the engine worker; modules compiled for this page: (\d+)",
                      text(".job-pool"))
        return (int(m.group(1)), int(m.group(2))) if m else (0, -1)
    ran, first = compiled()
    check(ran == 3 and first >= 1, f"3 jobs ran in the engine worker ({text('.job-pool')!r})")
    click(".queue-button")
    for _ in range(100):
        if compiled()[0] >= 6:
            break
        time.sleep(0.2)
    ran, again = compiled()
    check(ran == 6 and again == first,
          f"3 more jobs reuse the pool's compiled module ({text('.job-pool')!r})")
    b.go(URL + "#/jobs/1")
    listing = wait_text(".listing", "status")
    check("stdout" in listing and "ctl" in listing, f"/jobs/1 holds the job's files ({listing!r})")
    b.go(URL + "#/")
    review = wait_text(".review-panel", "job:")
    check("job:" in review and "hello-run.txt" in review, f"a job's changes wait for review ({review[:200]!r})")
    click(".review-commit")
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "a job's reviewed change is committed")
    while b.exists(".review-discard"):
        click(".review-discard")
    if LOOP:
        name = pick_module(LOOP, "infinite_loop")
        check("infinite_loop" in name, f"the same file can be picked again ({name!r})")
        b.type(".job-count", "1", clear=True)
        b.type(".job-timeout", "1", clear=True)
        click(".queue-button")
        jobs = wait_text(".jobs", "timed out", timeout=15)
        check("timed out" in jobs, f"a spinning job is stopped by its timeout ({jobs!r})")
        b.type(".job-timeout", "60", clear=True)
        click(".queue-button")
        wait_text(".jobs", "running", timeout=15)
        click(".cancel-job")
        jobs = wait_text(".jobs", "cancelled", timeout=15)
        check("cancelled" in jobs, "a running job is cancelled")
    if NET:
        tree = text(".sidebar")
        check("http" in tree and "ws" in tree, "/cap/http and /cap/ws are in the namespace")
        pick_module(NET, "net")
        b.type(".run-args", NET_URL, clear=True)
        b.type("input[type=number]", "30", clear=True)
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=40)
        check("exit code 0" in status, f"the net guest ran from the Run panel ({status!r})")
        out = text(".run-output")
        want = open(EXPECTED_NET).read()
        missing = [l for l in want.splitlines() if l not in out]
        check(not missing, f"its output is the native one (missing lines: {missing[:3]})")
        conns = wait_text(".ws-conns", "closed", timeout=10)
        check("/ws" in conns and "closed" in conns and "connection failed" in conns,
              f"the WebSocket view shows the run's connections ({conns!r})")
        screenshot("net.png")
    if NOSTR_RELAY:
        # The Nostr panel submits a kind-5600 job; `oanix provider` runs it and the stdout
        # comes back through the relay. Then a bad module URL: error feedback.
        b.type(".nostr-relays", NOSTR_RELAY, clear=True)
        b.type(".nostr-module", NOSTR_MODULE, clear=True)
        b.type(".nostr-stdin", "hello from the explorer", clear=True)
        click(".nostr-submit")
        status = wait_text(".nostr-status", "done", timeout=60)
        check("exit code 0" in status and "processing" in status and "success" in status,
              f"the provider ran the job: feedback and exit code shown ({status!r})")
        out = text(".nostr-output")
        check("HELLO FROM THE EXPLORER\nread 23 bytes" in out,
              f"the job's stdout and stderr are shown ({out!r})")
        screenshot("nostr.png")
        b.type(".nostr-module", NOSTR_MODULE + ".missing", clear=True)
        click(".nostr-submit")
        status = wait_text(".nostr-status", "failed", timeout=60)
        check("error" in status and "404" in status, f"a bad module URL gives error feedback ({status!r})")
    if LOOP:
        # A guest writing 65 MiB runs in place: the page's overhead over the guest's own
        # time, and no main-thread task over 50 ms while it runs (PerformanceObserver).
        click(".auto-apply")
        pick("write_many.wasm", "write_many")
        b.type(".run-args", "0 65 keep", clear=True)
        set_timeout("120")
        b.script("window.__long = []; new PerformanceObserver(l => l.getEntries()"
                 ".forEach(e => window.__long.push(Math.round(e.duration))))"
                 ".observe({type: 'longtask'});")
        t0 = time.time()
        click(".run-button")
        status = wait_text(".run-status", "exit code", timeout=120)
        wall = (time.time() - t0) * 1e3
        long = b.script("return window.__long")
        m = re.search(r"— ([\d.]+) ms; guest ([\d.]+) ms", status)
        check("exit code 0" in status and m, f"the 65 MiB guest ran ({status!r})")
        if m:
            total, guest = float(m.group(1)), float(m.group(2))
            print(f"info: 65 MiB guest: click to exit {total:.0f} ms, guest {guest:.0f} ms, "
                  f"overhead {total - guest:.0f} ms (WebDriver wall {wall:.0f} ms); "
                  f"long tasks {long}")
            check(total - guest <= 300, f"the run costs the guest's time + {total - guest:.0f} ms (<= 300)")
        check(not long, f"no main-thread task over 50 ms during the run ({long})")
        click(".auto-apply")
        # Reload with the large workspace (65 MiB big.bin in OPFS): how long until the
        # restored namespace is shown. First, OPFS has the whole file (mirrored in the
        # background once the guest's writes paused).
        size = None
        for _ in range(150):
            size = b.script_async(OPFS_SIZE, "big.bin")
            if size == 65 << 20:
                break
            time.sleep(0.2)
        check(size == 65 << 20, f"big.bin is mirrored to OPFS ({size} bytes; {text('.topbar')!r})")
        b.go(URL)
        tree = wait_text(".tree", "big.bin", timeout=60)
        shown = b.script("return performance.now()")
        check("big.bin" in tree and "b.txt" in tree, "after a reload the large workspace is restored")
        print(f"info: reload with a 65 MiB workspace: namespace shown {shown:.0f} ms after navigation")
    # A second tab: the first owns the storage (a Web Lock); the second shows the namespace
    # with a copy of /workspace, says it saves nothing, and writes nothing.
    first = b.call("GET", "/window")
    second = b.call("POST", "/window/new", {"type": "tab"})["handle"]
    b.call("POST", "/window", {"handle": second})
    b.go(URL)
    notes = wait_text(".notes", "another tab")
    check("open in another tab" in notes, f"a second tab says another tab has the namespace ({notes[:120]!r})")
    check("(not saved)" in text(".topbar"), f"the second tab does not save ({text('.topbar')[:120]!r})")
    tree = wait_text(".tree", "hello-run.txt")
    check("hello-run.txt" in tree, "the second tab shows /workspace (copied from OPFS)")
    b.call("DELETE", "/window")
    b.call("POST", "/window", {"handle": first})
    # A stored namespace that cannot be read is reported and left as it is: the page shows
    # the default namespace and saves nothing over it, reload after reload.
    got = b.script_async(IDB_PUT, "default", {"mounts": "not a mount table"})
    check(got == "default", f"the stored manifest was overwritten with garbage ({got!r})")
    for _ in range(2):
        b.go(URL)
        notes = wait_text(".notes", "unreadable")
        check("unreadable" in notes and "NOT saved" in notes,
              f"an unreadable saved namespace is reported ({notes[:160]!r})")
        check("(not saved)" in text(".topbar"), f"the page says it is not saving ({text('.topbar')[:120]!r})")
        kept = b.script_async(IDB_GET, "default")
        check(kept == {"mounts": "not a mount table"},
              f"the unreadable record is still what it was, not the default saved over it ({kept!r})")
    # The net guest's deliberately refused connection (127.0.0.1:1) and its deliberate 404
    # (/status/404) are logged by Chromium (guests' requests now go out from the page).
    errs = [e for e in b.probe_console()
            if "favicon" not in e and "127.0.0.1:1/" not in e and "/status/404 " not in e]
    check(not errs, f"no console errors {errs[:3]}")
finally:
    b.close()

print(f"e2e: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
