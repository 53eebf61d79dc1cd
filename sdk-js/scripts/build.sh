#!/usr/bin/env bash
# Builds the browser SDK from the Go sources: mqlive.wasm, wasm_exec.js (from
# the same Go toolchain) and the ESM facade, into sdk-js/dist/ (the npm
# package) and dashboard/static/sdk/ (served by the bridge at /sdk/).
# Both directories are build products and are not committed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dist="$root/sdk-js/dist"
site="$root/dashboard/static/sdk"
mkdir -p "$dist" "$site"
(cd "$root" && GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$dist/mqlive.wasm" ./wasm/cmd/mqlive-wasm)
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$dist/wasm_exec.js"
cp "$root/sdk-js/src/index.js" "$root/sdk-js/src/index.d.ts" "$root/sdk-js/src/protocol.js" "$root/sdk-js/src/protocol.d.ts" "$dist/"
cp "$dist/mqlive.wasm" "$dist/wasm_exec.js" "$dist/index.js" "$dist/protocol.js" "$site/"
echo "built $dist/mqlive.wasm ($(wc -c <"$dist/mqlive.wasm") bytes) and $site/"
