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
# Size budget: 500 KB brotli, held by wasm/build_test.go, which builds
# through this function so that the flags measured are the flags shipped.
# Go's own floor (hello world on syscall/js) is about 440 KB of it.
#  - -s -w drops the symbol names (~70 KB raw).
#  - GOEXPERIMENT=nogreenteagc builds the runtime with Go's classic
#    collector: ~11 KB brotli smaller. Green Tea's gains come from parallel
#    marking on many cores; a browser runs Go on one thread, and the SDK's
#    CPU per message measured the same or lower without it.
#  - -l turns off inlining in the SDK's own packages and syscall/js (~6 KB
#    brotli): the time per message goes to calls across the JavaScript
#    boundary, not to Go call overhead. The runtime keeps its inlining.
build_wasm() {
  (cd "$root" && GOOS=js GOARCH=wasm GOEXPERIMENT=nogreenteagc go build -trimpath -ldflags='-s -w' \
    -gcflags='github.com/mqlive/mqlive/...=-l' -gcflags='syscall/js=-l' \
    -o "$1" ./wasm/cmd/mqlive-wasm)
}
if [ -n "${MQLIVE_WASM_OUT:-}" ]; then
  build_wasm "$MQLIVE_WASM_OUT"
  exit 0
fi
build_wasm "$dist/mqlive.wasm"
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$dist/wasm_exec.js"
cp "$root/sdk-js/src/index.js" "$root/sdk-js/src/index.d.ts" "$root/sdk-js/src/protocol.js" "$root/sdk-js/src/protocol.d.ts" "$root/sdk-js/src/devices.js" "$dist/"
cp "$dist/mqlive.wasm" "$dist/wasm_exec.js" "$dist/index.js" "$dist/protocol.js" "$dist/devices.js" "$site/"
# The dashboard's chart library (uPlot, MIT), pinned in package.json: copied
# from node_modules into dashboard/static/vendor/ (not committed either).
# Without `npm ci` the page still runs and says charts need it.
uplot="$root/sdk-js/node_modules/uplot"
if [ -f "$uplot/dist/uPlot.esm.js" ]; then
  mkdir -p "$root/dashboard/static/vendor/uplot"
  cp "$uplot/dist/uPlot.esm.js" "$uplot/dist/uPlot.min.css" "$uplot/LICENSE" "$root/dashboard/static/vendor/uplot/"
else
  echo "note: sdk-js/node_modules/uplot missing (run npm ci in sdk-js): the dashboard's charts stay off" >&2
fi
echo "built $dist/mqlive.wasm ($(wc -c <"$dist/mqlive.wasm") bytes) and $site/"
