// Package wasm holds the browser side of mqlive's Go code and guards its
// WebAssembly build:
//
//   - client: the SDK core (PROTOCOL.md client side) in plain Go;
//   - cmd/mqlive-wasm: the GOOS=js GOARCH=wasm program, syscall/js glue only;
//   - nativews: the same core over fasthttp/websocket for native Go and the
//     integration tests against the real bridge.
//
// This package itself has no code; its tests build the WebAssembly binary,
// assert its dependency list (no net/http, crypto/tls, fmt, encoding/json)
// and its size budget, and vet it for js/wasm (STYLE.md §15). sdk-js runs
// the binary in Node and headless Chromium.
package wasm
