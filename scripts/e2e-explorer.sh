#!/usr/bin/env bash
# End-to-end test of the Namespace Explorer: build it with trunk, serve dist/ on 127.0.0.1,
# and drive it in headless Chromium over WebDriver (scripts/e2e-explorer.py): the namespace
# listing (a real OanixEnv), read-only files, running guests on the page (several at once), review
# (commit, discard, apply without review), the environment/logs/events/ATIF views, jobs
# from /jobs, a bad module, a timeout. Screenshots in target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/e2e
mkdir -p "$out"

# The release build, as shipped: size-optimised and run through wasm-opt (Trunk.toml).
PATH="$PWD/.tools/node_modules/.bin:$PATH" trunk build --release >"$out/trunk.log" 2>&1 ||
  { cat "$out/trunk.log"; exit 1; }
scripts/explorer-size.sh

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 -d dist >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done

# Nostr: a real relay (oanix-nostr-relay) with `oanix provider` on it; the provider fetches
# the stdin_echo guest from the page's server (copied into dist/).
cargo build -p oanix-tests --bin oanix-nostr-relay -p oanix-native-runner --bin oanix >"$out/nostr-build.log" 2>&1 \
  || { cat "$out/nostr-build.log"; exit 1; }
bin=${CARGO_TARGET_DIR:-target}/debug
echo=target/wasm32-wasip1/release/stdin_echo.wasm
[ -f "$echo" ] || { echo "FAIL: $echo missing (./scripts/dev.sh guests)"; exit 1; }
cp "$echo" dist/stdin_echo.wasm
# (A previous run's relay.url must not be read as this relay's address.)
rm -f "$out/relay.url"
"$bin/oanix-nostr-relay" >"$out/relay.url" 2>"$out/relay.log" &
relay=$!
trap 'kill $server $relay 2>/dev/null' EXIT
for _ in $(seq 300); do [ -s "$out/relay.url" ] && break; sleep 0.1; done
relay_url=$(head -n1 "$out/relay.url")
case "$relay_url" in ws://127.0.0.1:*) ;; *) echo "FAIL: oanix-nostr-relay did not start"; exit 1 ;; esac
"$bin/oanix" provider --relay "$relay_url" --allow-module-host 127.0.0.1 2>"$out/provider.log" &
provider=$!
trap 'kill $server $relay $provider 2>/dev/null' EXIT
for _ in $(seq 300); do grep -q connected "$out/provider.log" && break; sleep 0.1; done
export OANIX_E2E_NOSTR_RELAY=$relay_url OANIX_E2E_NOSTR_MODULE="http://127.0.0.1:$port/stdin_echo.wasm"

# The spinning guest exercises timeout/stop on the page; its directory also holds the guests
# of the concurrent-run and 65 MiB checks (fsutil, write_many; built by `dev.sh guests`).
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
