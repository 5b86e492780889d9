#!/usr/bin/env bash
# End-to-end test of the Namespace Explorer: build it with trunk, serve dist/ on 127.0.0.1,
# and drive it in headless Chromium over WebDriver (scripts/e2e-explorer.py): the namespace
# listing, running the sample guest in the worker, a bad module, a timeout. Screenshots in
# target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/e2e
mkdir -p "$out"

# The release build, as shipped: size-optimised and run through wasm-opt (Trunk.toml).
PATH="$PWD/.tools/node_modules/.bin:$PATH" trunk build --release >"$out/trunk.log" 2>&1 ||
  { cat "$out/trunk.log"; exit 1; }
for f in dist/*.wasm; do
  echo "explorer download: $(basename "$f") $(wc -c <"$f") bytes, $(gzip -9 -c "$f" | wc -c) gzip -9"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 -d dist >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done

# The spinning guest exercises timeout/cancel through the worker (built by `dev.sh guests`).
loop=target/wasm32-wasip1/release/infinite_loop.wasm
[ -f "$loop" ] || { echo "FAIL: $loop missing (./scripts/dev.sh guests)"; exit 1; }
# The network capabilities against the loopback test server (dev.sh test starts it).
net=()
if [ -n "${OANIX_TEST_SERVER_URL:-}" ]; then
  net=(target/wasm32-wasip1/release/net.wasm "$OANIX_TEST_SERVER_URL")
  [ -f "${net[0]}" ] || { echo "FAIL: ${net[0]} missing (./scripts/dev.sh guests)"; exit 1; }
elif [ -n "${OANIX_REQUIRE_TEST_SERVER:-}${CI:-}" ]; then
  echo "FAIL: OANIX_TEST_SERVER_URL not set (start oanix-testserver)"; exit 1
fi
timeout 300 python3 scripts/e2e-explorer.py "http://127.0.0.1:$port/" "$out" "$loop" "${net[@]}"
