#!/usr/bin/env bash
# OANIX developer entry point.
#   ./scripts/dev.sh serve   set up a fresh machine and serve the explorer (trunk serve)
#   ./scripts/dev.sh test    set up a fresh machine and run every test
#   ./scripts/dev.sh bench   print benchmark figures (native, and in headless Chromium)
#   ./scripts/dev.sh guests  build the WASI guest programs of tests/guests
#   ./scripts/dev.sh testsuite  run the WASI testsuite only (../shared/wasi-testsuite or OANIX_WASI_TESTSUITE)
#   ./scripts/dev.sh fuzz [N]   the differential fuzzer (shim vs wasmtime-wasi) for N fresh cases (default 3000)
set -uo pipefail
cd "$(dirname "$0")/.."

export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export PATH="$HOME/.cargo/bin:$PWD/.tools/node_modules/.bin:$PATH"

setup() { bash scripts/setup.sh || { echo "setup failed"; exit 1; }; }

passed=0
failed=0
failures=()
step() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

# Guest programs (tests/guests, a separate workspace) share the one target/ directory.
build_guests() {
  cargo build --release --target wasm32-wasip1 --manifest-path tests/guests/Cargo.toml \
    --target-dir target
}

# The WASI conformance suite (72 preview1 tests). CI has a copy beside the project at
# ../shared/wasi-testsuite; OANIX_WASI_TESTSUITE overrides it with a checkout's `tests`
# directory (WebAssembly/wasi-testsuite, branch prod/testsuite-base). Never committed here.
OANIX_SUITE_EXPECT=${OANIX_SUITE_EXPECT:-72}
export OANIX_SUITE_EXPECT
if [ -z "${OANIX_WASI_TESTSUITE:-}" ] && [ -d ../shared/wasi-testsuite/tests ]; then
  OANIX_WASI_TESTSUITE=$(cd ../shared/wasi-testsuite/tests && pwd)
fi

wasi_testsuite() {
  cargo build -p oanix-native-runner --bin oanix &&
    python3 scripts/wasi-testsuite.py "$OANIX_WASI_TESTSUITE" --expect "$OANIX_SUITE_EXPECT" "$@"
}

suite_missing() {
  echo "!!! The WASI conformance suite was NOT run: no ../shared/wasi-testsuite/tests and no"
  echo "!!! OANIX_WASI_TESTSUITE. Conformance is unchecked by this run."
  # In CI the suite ships beside the project: its absence is a failure, not a skip.
  [ -z "${CI:-}" ]
}

# The same suite in headless Chromium (browser host, in a worker), fetched from a local
# server on 127.0.0.1.
wasi_testsuite_browser() {
  local port server rc
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 scripts/serve-testsuite.py "$OANIX_WASI_TESTSUITE" "$port" &
  server=$!
  OANIX_SUITE_URL="http://127.0.0.1:$port" cargo test -p oanix-tests \
    --target wasm32-unknown-unknown --test browser_wasi_testsuite -- --nocapture
  rc=$?
  kill "$server" 2>/dev/null
  return $rc
}

# The loopback HTTP + WebSocket server of the network-capability tests (tests/src/testserver.rs):
# built once (debug, the profile `cargo test --workspace` builds anyway), started on a free
# 127.0.0.1 port, its URL exported as OANIX_TEST_SERVER_URL for the native and Chromium tests
# (the wasm tests read it at compile time), killed when this script exits.
start_test_server() {
  cargo build -p oanix-tests --bin oanix-testserver || return 1
  local dir=${CARGO_TARGET_DIR:-target}
  coproc TEST_SERVER { exec "$dir/debug/oanix-testserver"; }
  local url=""
  read -r -t 30 url <&"${TEST_SERVER[0]}"
  case "$url" in
    http://127.0.0.1:*) ;;
    *) echo "oanix-testserver did not start (got ${url:-nothing})"; return 1 ;;
  esac
  trap 'kill "$TEST_SERVER_PID" 2>/dev/null' EXIT
  export OANIX_TEST_SERVER_URL=$url
  echo "test server: $url (pid $TEST_SERVER_PID)"
}

# The Nostr relay of the Chromium /cap/nostr test (tests/src/bin/oanix-nostr-relay.rs: a real
# relay from nostr-relay-builder with the test NIP-90 provider answering on it), on a free
# 127.0.0.1 port, its URL exported as OANIX_NOSTR_RELAY_URL (read at compile time), killed
# when this script exits.
start_nostr_relay() {
  cargo build -p oanix-tests --bin oanix-nostr-relay || return 1
  local dir=${CARGO_TARGET_DIR:-target} out url=""
  out=$(mktemp)
  "$dir/debug/oanix-nostr-relay" >"$out" &
  NOSTR_RELAY_PID=$!
  trap 'kill "$TEST_SERVER_PID" "$NOSTR_RELAY_PID" 2>/dev/null' EXIT
  for _ in $(seq 300); do
    url=$(head -n1 "$out")
    [ -n "$url" ] && break
    kill -0 "$NOSTR_RELAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$out"
  case "$url" in
    ws://127.0.0.1:*) ;;
    *) echo "oanix-nostr-relay did not start (got ${url:-nothing})"; return 1 ;;
  esac
  export OANIX_NOSTR_RELAY_URL=$url
  echo "nostr relay: $url (pid $NOSTR_RELAY_PID)"
}

wasm_targets=(--workspace --exclude oanix-native-runner --target wasm32-unknown-unknown)

case "${1:-}" in
  serve)
    setup
    exec trunk serve "${@:2}"
    ;;
  test)
    setup
    # The network tests must not skip: fail when the test server's URL is missing.
    export OANIX_REQUIRE_TEST_SERVER=1
    step fmt cargo fmt --all --check
    step fmt-guests cargo fmt --check --manifest-path tests/guests/Cargo.toml
    step clippy-native cargo clippy --workspace --all-targets -- -D warnings
    step clippy-wasm32 cargo clippy "${wasm_targets[@]}" --all-targets -- -D warnings
    step guests build_guests
    step test-server start_test_server
    step nostr-relay start_nostr_relay
    step test-native cargo test --workspace
    if [ -n "${OANIX_WASI_TESTSUITE:-}" ]; then
      step wasi-testsuite wasi_testsuite
      step wasi-testsuite-browser wasi_testsuite_browser
    else
      step wasi-testsuite suite_missing
    fi
    # wasm-bindgen-test-runner gives a whole test binary 20 s by default; the OPFS suite
    # alone takes ~13 s on a quiet machine, so CI gets room.
    step test-chromium env WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}" \
      cargo test -p oanix-core -p oanix-tests -p oanix-web --target wasm32-unknown-unknown --tests
    step e2e-explorer scripts/e2e-explorer.sh
    echo
    [ ${#failures[@]} -eq 0 ] || echo "failed steps: ${failures[*]}"
    echo "total time: $SECONDS s (setup included)"
    echo "steps: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
  guests)
    setup
    build_guests
    ;;
  testsuite)
    setup
    OANIX_WASI_TESTSUITE=${OANIX_WASI_TESTSUITE:?no ../shared/wasi-testsuite: set it to a wasi-testsuite checkout\'s tests dir}
    wasi_testsuite "${@:2}" && wasi_testsuite_browser
    ;;
  fuzz)
    setup
    OANIX_FUZZ_CASES=${2:-3000} cargo test -p oanix-native-runner --test fuzz -- --nocapture
    ;;
  bench)
    setup
    build_guests
    cargo bench -p oanix-core
    cargo bench -p oanix-native-runner --bench wasi_bench
    # Network capabilities: req/s and WS msg/s through /cap/http, /cap/ws vs direct clients.
    cargo bench -p oanix-tests --bench net_bench
    # The same in headless Chromium (fetch / WebSocket vs the files), against oanix-testserver.
    # Over the runner's default 20 s test timeout at these sizes: give it more.
    start_test_server &&
      WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300} OANIX_REQUIRE_TEST_SERVER=1 \
      OANIX_BENCH_NET_REQUESTS=${OANIX_BENCH_REQUESTS:-2000} \
      OANIX_BENCH_NET_WS=${OANIX_BENCH_WS:-5000} cargo test --release -p oanix-tests \
      --target wasm32-unknown-unknown --test browser_net_bench -- --nocapture
    cargo bench -p oanix-native-runner --bench start_bench
    OANIX_BENCH_WRITES=${OANIX_BENCH_WRITES:-1000000} OANIX_BENCH_MIB=${OANIX_BENCH_MIB:-64} \
      OANIX_BENCH_CPU=${OANIX_BENCH_CPU:-5} OANIX_BENCH_JOBS=${OANIX_BENCH_BROWSER_JOBS:-1000} \
      cargo test --release -p oanix-tests \
      --target wasm32-unknown-unknown --test browser_bench -- --nocapture
    # The explorer's way: instrumented guests in place on a namespace holding 100 MiB in
    # /workspace and in /tmp (run time, longest stall), on a test page's thread (the explorer
    # runs them in its engine worker).
    OANIX_BENCH_NS_MIB=${OANIX_BENCH_NS_MIB:-100} OANIX_BENCH_MIB=${OANIX_BENCH_MIB:-64} \
      OANIX_BENCH_WRITES=${OANIX_BENCH_PAGE_WRITES:-200000} OANIX_BENCH_CPU=${OANIX_BENCH_CPU:-5} \
      cargo test --release -p oanix-tests --target wasm32-unknown-unknown --test browser_page_bench \
      -- --nocapture
    OANIX_BENCH_OPS=${OANIX_BENCH_OPS:-200000} cargo test --release -p oanix-core \
      --target wasm32-unknown-unknown --test bench_browser -- --nocapture
    # The same guests on @bjorn3/browser_wasi_shim in the same Chromium. 20,000 small writes
    # and 4 MiB, not 1M and 64 MiB: it reallocates the whole file on every write that grows
    # it (quadratic), so the full sizes do not finish. OANIX is rerun at those sizes.
    (cd bench/browser-wasi-shim && npm ci --no-audit --no-fund) &&
      python3 scripts/bench-browser-shim.py 20000 4 "${OANIX_BENCH_CPU:-5}"
    OANIX_BENCH_WRITES=20000 OANIX_BENCH_MIB=4 OANIX_BENCH_CPU=0 OANIX_BENCH_JOBS=0 cargo test --release \
      -p oanix-tests --target wasm32-unknown-unknown --test browser_bench -- --nocapture
    # ...and the explorer's page runner on syscall_bench at those sizes (20,000 writes, 10,000
    # stats, 4 MiB), beside browser_wasi_shim's "syscalls" lines.
    OANIX_BENCH_NS_MIB=0 OANIX_BENCH_WRITES=20000 OANIX_BENCH_MIB=4 OANIX_BENCH_CPU=0 \
      cargo test --release -p oanix-tests --target wasm32-unknown-unknown --test browser_page_bench \
      -- --nocapture
    OANIX_BENCH_IDB_FILES=${OANIX_BENCH_IDB_FILES:-10000} OANIX_BENCH_IDB_MIB=${OANIX_BENCH_IDB_MIB:-100} \
      cargo test --release -p oanix-core --target wasm32-unknown-unknown --test persist_idb \
      print_indexeddb_figures -- --nocapture
    # The explorer's download: the page's wasm (the UI) and its two workers, as shipped.
    trunk build --release >/dev/null 2>&1 && scripts/explorer-size.sh
    ;;
  *)
    echo "usage: $0 serve|test|bench|guests|testsuite|fuzz" >&2
    exit 2
    ;;
esac
