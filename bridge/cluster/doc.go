// Package cluster holds the small interfaces a bridge node shares with its
// peers, beside the store (package state) and the fan-out (package
// fanout): presence, message dedup, the node registry, the control channel
// with token revocation, and leases that make a periodic job run once per
// cluster, and the two-phase message claims of ingest mode "lock". Presence,
// nodes, control and leases have a memory implementation here (one node);
// every interface has a Valkey one in package valkey. Dedup and Claims
// serve cluster ingest only: one node drops QoS 1 redeliveries with a
// dedup.Window.
//
// Concurrency: every implementation is safe for concurrent use. Control
// handlers are called from the implementation's own goroutine and must not
// block.
package cluster
