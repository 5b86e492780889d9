#!/usr/bin/env bash
# End-to-end check of the Namespace Explorer as a browser shows it: build it with trunk,
# serve dist/ on 127.0.0.1, load it in headless Chromium, and check the namespace the page
# rendered (the listing comes from the wasm app, not from index.html). Saves a screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/e2e
mkdir -p "$out"

trunk build >"$out/trunk.log" 2>&1 || { cat "$out/trunk.log"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 -d dist >"$out/server.log" 2>&1 &
server=$!
profile=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$profile"' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done

chrome=(chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage
  --disable-background-networking --disable-component-update --no-first-run --disable-sync
  --user-data-dir="$profile" --virtual-time-budget=15000 --window-size=1200,800)
timeout 90 "${chrome[@]}" --dump-dom "http://127.0.0.1:$port/" >"$out/explorer.html" 2>"$out/chromium.log"
timeout 90 "${chrome[@]}" --screenshot="$PWD/$out/explorer.png" "http://127.0.0.1:$port/" >/dev/null 2>>"$out/chromium.log"

fail=0
expect() {
  if grep -qF -- "$1" "$out/explorer.html"; then echo "ok: page shows $2"
  else echo "FAIL: page does not show $2"; fail=1; fi
}
expect '<ul class="mounts">' "the mount list"
for m in /task /workspace /logs /tmp; do expect ">$m</button>" "mount $m"; done
expect '  spec.json</button>' "/task/spec.json in the tree"
expect '  hello.txt</button>' "/workspace/src/hello.txt in the tree"
expect '<td class="muted">dir</td>' "a directory listing of /"
[ -s "$out/explorer.png" ] && echo "ok: screenshot at $out/explorer.png" || { echo "FAIL: no screenshot"; fail=1; }
exit $fail
