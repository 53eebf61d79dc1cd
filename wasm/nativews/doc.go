//go:build !js

// Package nativews runs the mqlive SDK core (package client) in native Go
// programs: a client.Transport on github.com/fasthttp/websocket and a
// constructor that pairs it with client.StdCodec. The repository's
// integration tests drive the real bridge through it; a Go dashboard
// backend or load generator can use it the same way.
//
// Concurrency contract: Transport is stateless and safe for concurrent use.
// Each connection owns one reader goroutine that exits when the connection
// closes; its Send and Close may be called from any goroutine (the client
// calls them from its actor). Events are delivered to the client.ConnHandler
// from the reader goroutine and never block.
package nativews
