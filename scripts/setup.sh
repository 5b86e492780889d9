#!/usr/bin/env bash
# Installs, idempotently, everything a fresh machine lacks to build, serve and test OANIX.
# Only package registries are used: crates.io (cargo install), Debian (apt-get), rustup targets.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# The wasm-bindgen CLI must match the wasm-bindgen crate locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}
TRUNK_VERSION=0.22.0-beta.1 # 0.22.1 needs rustc 1.96

need_targets=()
installed_targets=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip1; do
  grep -qx "$t" <<<"$installed_targets" || need_targets+=("$t")
done
if ((${#need_targets[@]})); then
  log "rustup target add ${need_targets[*]}"
  rustup target add "${need_targets[@]}"
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  log "apt-get install chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ] ||
   [ "$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: the CLI's own lock file is newer than the registry copy of it.
  cargo install --force wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  if ! command -v trunk >/dev/null; then
    log "cargo install trunk $TRUNK_VERSION (about 12 minutes)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
fi
# wasm-opt (binaryen 132) from the npm registry, for trunk's release builds (Trunk.toml:
# tools.wasm_opt). Local to the checkout (.tools/, git-ignored); dev.sh puts it on PATH.
if [ "$(.tools/node_modules/.bin/wasm-opt --version 2>/dev/null | awk '{print $3}')" != "132" ]; then
  log "npm install binaryen 132 (wasm-opt) into .tools/"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --no-save binaryen@132.0.0 >/dev/null
fi

log "tools ready: $(wasm-bindgen --version), $(trunk --version), $(.tools/node_modules/.bin/wasm-opt --version), $(chromium --version 2>/dev/null | head -1)"
