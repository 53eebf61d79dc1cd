// Package ws serves the bridge's HTTP surface with Fiber: the dashboard
// protocol at /ws (PROTOCOL.md, JSON-RPC 2.0 over WebSocket through
// gofiber/contrib/websocket), /healthz, /readyz, /metrics and the static
// dashboard at /. It is the only package that imports Fiber.
//
// Each WebSocket has the Fiber handler goroutine, which only reads frames
// and answers requests by queueing frames (each request is answered on a
// short-lived goroutine, so the reader's stack stays small), and, while
// there is something to write, one writer goroutine that drains the
// connection's hub.Session and owns every write (STYLE.md §8). A wake-up
// of the session starts the writer when none runs; it ends after a second
// without work, so an idle socket costs one goroutine; the server's one
// keep-alive wheel sends every socket's pings and ends the reads of silent
// peers and the sessions of expired tokens (keepalive.go). The writer sends the text frames it finds queued
// together, with one writev and frame headers it builds itself
// (frameWriter); the library keeps the handshake, the reading and the
// control frames, which the writer sends through it too: pings, the pongs
// the reader hands over (hub.Session.Pong) and the close frame, the peer's
// close included. Fiber reuses its context after a handler returns, so
// everything kept from a request is copied first.
//
// Server is safe for concurrent use. Request handlers never block on
// another client: publishing and subscribing hold one tenant's state lock
// only while appending to in-memory queues.
package ws
