#!/usr/bin/env bash
# Prints the explorer's download (each dist/oanix-*.wasm: bytes and gzip -9) after a release build,
# and fails if the page's own wasm (the UI; the namespace lives in the engine worker) is over
# its budget: 250 KiB gzip -9 (issue 11). Used by scripts/e2e-explorer.sh and `dev.sh bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((250 * 1024))
status=0
for f in dist/oanix-*.wasm; do
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  echo "explorer download: $(basename "$f") $raw bytes, $gz gzip -9 ($(python3 -c "print(f'{$gz/1024:.1f}')") KiB)"
  case "$(basename "$f")" in
    oanix-web-*_bg.wasm | oanix-web_bg.wasm)
      if [ "$gz" -gt "$budget" ]; then
        echo "FAIL: the page's wasm is $gz bytes gzip -9, over the $budget-byte budget"
        status=1
      fi
      ;;
  esac
done
exit $status
