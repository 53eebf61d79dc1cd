// Package cluster holds the small interfaces a bridge node shares with its
// peers, beside the store (package state) and the fan-out (package
// fanout): presence, message dedup, the node registry, the control channel
// with token revocation, and leases that make a periodic job run once per
// cluster. Each has a memory implementation here (one node: today's
// behaviour) and a Valkey one in package valkey.
//
// Concurrency: every implementation is safe for concurrent use. Control
// handlers are called from the implementation's own goroutine and must not
// block.
package cluster
