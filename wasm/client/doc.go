// Package client is the mqlive dashboard SDK core: the client side of
// PROTOCOL.md (mqlive.v1) in plain Go, shared by the browser WebAssembly
// build (cmd/mqlive-wasm) and native Go programs and tests (package nativews).
//
// The package imports no syscall/js, encoding/json, fmt, net/http or time,
// so that the WebAssembly build stays small (WASM.md §1). Three small
// interfaces keep the platform out: Transport opens WebSocket connections,
// Codec parses JSON and Clock supplies time and timers (milliseconds
// throughout). Native builds get StdCodec and SystemClock. Publication data stays an opaque Value owned by the codec, so in the
// browser it is the very object JSON.parse returned (zero copy).
//
// The client also measures end-to-end delivery latency (report.go). For
// each live Reading it receives on a device channel, it takes the
// Reading's received_at (bridge clock) and the moment it hands the
// publication to the application (client clock plus an offset estimated
// from ping round trips, clocksync.go). It counts the difference into the
// bridge's fixed histogram buckets (latency.go). Every
// Config.ReportInterval it reports the counts that no server has
// acknowledged yet; Client.Latency returns the client-side view.
//
// Concurrency contract: a Client owns one actor goroutine that holds all of
// its state. Every exported method is safe for concurrent use, never blocks
// and only queues a command for the actor; this makes the methods callable
// from inside JavaScript callbacks, which must not block (WASM.md §6.1).
// Transport events are queued the same way. Results come back through
// callbacks (Config.OnEvent and the per-request done functions) that run on
// the actor goroutine: they must not block and must not wait for another
// Client call to finish, but they may call Client methods. Config.GetToken
// runs on a goroutine of its own and may block.
package client
