#!/usr/bin/env python3
"""Fills `expect.stdout` and `expect.tree` in tests/cases.json from the wasmtime-wasi reference
(`oanix run --reference`), so expectations come from the reference host, never from ours.
Run after adding a case: scripts/bless-cases.py [NAME...]  (guests must be built)."""
import json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "cases.json")


def run(case):
    with tempfile.TemporaryDirectory() as ws, tempfile.NamedTemporaryFile() as stdin:
        for d in case.get("dirs", []):
            os.makedirs(os.path.join(ws, d), exist_ok=True)
        for p, content in case.get("files", {}).items():
            os.makedirs(os.path.dirname(os.path.join(ws, p)), exist_ok=True)
            with open(os.path.join(ws, p), "w") as f:
                f.write(content)
        stdin.write(case.get("stdin", "").encode())
        stdin.flush()
        wasm = os.path.join(ROOT, "target/wasm32-wasip1/release", case["guest"] + ".wasm")
        cmd = [os.path.join(ROOT, "target/debug/oanix"), "run", "--reference", wasm,
               "--argv0", case["guest"], "--mount", "/workspace=" + ws, "--stdin", stdin.name,
               "--timeout", f"{case.get('timeout_ms', 20000)}ms"]
        for k, v in case.get("env", {}).items():
            cmd += ["--env", f"{k}={v}"]
        cmd += ["--"] + case.get("args", [])
        p = subprocess.run(cmd, capture_output=True)
        return p, tree(ws)


def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = "-> " + os.readlink(full)
            elif os.path.isdir(full):
                out[rel + "/"] = None
            else:
                with open(full, "rb") as f:
                    out[rel] = f.read().decode("utf-8", "replace")
    return dict(sorted(out.items()))


def main():
    with open(CASES) as f:
        cases = json.load(f)
    only = set(sys.argv[1:])
    for case in cases:
        if only and case["name"] not in only:
            continue
        p, t = run(case)
        case["expect"]["stdout"] = p.stdout.decode()
        case["expect"]["tree"] = t
        print(f"{case['name']}: exit {p.returncode}, {len(p.stdout)} bytes of stdout")
    with open(CASES, "w") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()
