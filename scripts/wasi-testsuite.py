#!/usr/bin/env python3
"""Runs the WASI preview1 conformance suite (WebAssembly/wasi-testsuite, branch
prod/testsuite-base) through `oanix run`, the way the suite's spec describes: each test's
`root` directory copied fresh and mounted at `/` (preopened as `/`), its args and env, and
its expected exit code and stdout compared.

Usage: scripts/wasi-testsuite.py SUITE_DIR [--oanix PATH] [--reference] [-k FILTER]
SUITE_DIR is a checkout's `tests` directory (the suite is fetched locally, never committed).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, glob


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("--oanix", default="target/debug/oanix")
    ap.add_argument("--reference", action="store_true", help="run on wasmtime-wasi instead")
    ap.add_argument("-k", default="", help="only tests whose path contains this")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--expect", type=int, default=None,
                    help="fail unless exactly this many tests are found (and all pass)")
    a = ap.parse_args()
    wasms = sorted(glob.glob(os.path.join(a.suite, "*", "testsuite", "wasm32-wasip1", "*.wasm")))
    wasms = [w for w in wasms if a.k in w]
    passed, failed = 0, []
    for wasm in wasms:
        base = wasm[:-5]
        spec = {}
        if os.path.exists(base + ".json"):
            with open(base + ".json") as f:
                spec = json.load(f)
        folder = os.path.dirname(wasm)
        for junk in glob.glob(os.path.join(folder, "**", "*.cleanup"), recursive=True):
            shutil.rmtree(junk) if os.path.isdir(junk) else os.remove(junk)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [a.oanix, "run", wasm, "--timeout", "20s"]
            if a.reference:
                cmd.append("--reference")
            root = spec.get("root")
            if root:
                dst = os.path.join(tmp, "root")
                shutil.copytree(os.path.join(folder, root), dst, symlinks=True)
                cmd += ["--mount", "/=" + dst]
            for d in spec.get("dirs", []):
                dst = os.path.join(tmp, d)
                shutil.copytree(os.path.join(folder, d), dst, symlinks=True)
                cmd += ["--mount", "/" + d + "=" + dst]
            for k, v in spec.get("env", {}).items():
                cmd += ["--env", f"{k}={v}"]
            cmd += ["--"] + spec.get("args", [])
            p = subprocess.run(cmd, capture_output=True, timeout=120)
        want_code = spec.get("exit_code", 0)
        want_out = spec.get("stdout")
        problems = []
        if p.returncode != want_code:
            problems.append(f"exit {p.returncode}, want {want_code}")
        if want_out is not None and p.stdout.decode(errors="replace") != want_out:
            problems.append(f"stdout {p.stdout[:200]!r}, want {want_out[:200]!r}")
        name = os.path.relpath(wasm, a.suite)
        if problems:
            failed.append(name)
            print(f"FAIL {name}: {'; '.join(problems)}")
            if True:
                err = p.stderr.decode(errors="replace").strip().splitlines()
                for line in err[:12]:
                    print(f"     | {line}")
        else:
            passed += 1
            if a.v:
                print(f"ok   {name}")
    print(f"wasi-testsuite: {passed} passed, {len(failed)} failed")
    if not wasms:
        print(f"wasi-testsuite: no tests found under {a.suite!r}: wrong directory?")
        return 1
    if a.expect is not None and len(wasms) != a.expect:
        print(f"wasi-testsuite: found {len(wasms)} tests, expected exactly {a.expect}")
        return 1
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
