#!/usr/bin/env bash
# OANIX developer entry point.
#   ./scripts/dev.sh serve   set up a fresh machine and serve the explorer (trunk serve)
#   ./scripts/dev.sh test    set up a fresh machine and run every test
#   ./scripts/dev.sh bench   print benchmark figures (native, and in headless Chromium)
set -uo pipefail
cd "$(dirname "$0")/.."

export CHROMEDRIVER=/usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export PATH="$HOME/.cargo/bin:$PATH"

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

wasm_targets=(--workspace --exclude oanix-native-runner --target wasm32-unknown-unknown)

case "${1:-}" in
  serve)
    setup
    exec trunk serve "${@:2}"
    ;;
  test)
    setup
    step fmt cargo fmt --all --check
    step clippy-native cargo clippy --workspace --all-targets -- -D warnings
    step clippy-wasm32 cargo clippy "${wasm_targets[@]}" --all-targets -- -D warnings
    step test-native cargo test --workspace
    step test-chromium cargo test -p oanix-core --target wasm32-unknown-unknown --tests
    step e2e-explorer scripts/e2e-explorer.sh
    echo
    [ ${#failures[@]} -eq 0 ] || echo "failed steps: ${failures[*]}"
    echo "steps: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    ;;
  bench)
    setup
    cargo bench -p oanix-core
    OANIX_BENCH_OPS=${OANIX_BENCH_OPS:-200000} cargo test --release -p oanix-core \
      --target wasm32-unknown-unknown --test bench_browser -- --nocapture
    ;;
  *)
    echo "usage: $0 serve|test|bench" >&2
    exit 2
    ;;
esac
