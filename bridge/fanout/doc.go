// Package fanout carries publications from the node that makes them to
// every node with a local subscriber of the channel. centrifuge calls this a
// Broker; mqlive says fan-out because "broker" already means the MQTT
// broker.
//
// One delivery path (STYLE.md §9): a node never hands a publication it made
// straight to its own sessions. Publish appends through the store, which
// assigns the epoch and offset, and every node, the publishing one
// included, delivers only what its fan-out subscription hands to its
// Handler. A node subscribes a channel upstream when its first local
// session wants it and unsubscribes after the last one leaves; the hub
// counts and serialises those calls per channel.
//
// Concurrency: a Fanout is safe for concurrent use. Handler methods are
// called from the fan-out's own goroutines, one channel's publications in
// offset order; they must not block (the hub only appends to bounded
// queues). Publications handed to a Handler are shared and immutable.
//
// Memory (this package) is the single-node fan-out over a state.Memory;
// package valkey has the cluster one, over Valkey pub/sub.
package fanout
