// Package ws serves the bridge's HTTP surface with Fiber: the dashboard
// protocol at /ws (PROTOCOL.md, JSON-RPC 2.0 over WebSocket through
// gofiber/contrib/websocket), /healthz, /readyz, /metrics and the static
// dashboard at /. It is the only package that imports Fiber.
//
// Each WebSocket has exactly two goroutines: the Fiber handler goroutine,
// which only reads frames and answers requests by queueing frames, and one
// writer goroutine that drains the connection's hub.Session and owns every
// data write (STYLE.md §8). Close and ping frames go through
// WriteControl, which the websocket library allows concurrently with the
// writer. Fiber reuses its context after a handler returns, so everything
// kept from a request is copied first.
//
// Server is safe for concurrent use. Request handlers never block on
// another client: publishing and subscribing hold one tenant's state lock
// only while appending to in-memory queues.
package ws
