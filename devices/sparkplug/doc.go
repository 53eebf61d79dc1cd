// Package sparkplug is the sparkplug_b device family: Eclipse Sparkplug B
// 3.0 edge nodes and devices (NBIRTH, NDATA, NDEATH, DBIRTH, DDATA, DDEATH)
// decoded from the protobuf payload defined by Eclipse Tahu's
// sparkplug_b.proto, which is kept unedited in this directory together with
// the Go code protoc-gen-go generates from it (go generate).
//
// It is a subpackage of devices because it needs the protobuf runtime,
// which package devices must not import (devices is compiled into the WASM
// SDK). It depends inward on devices only.
//
// Unlike the JSON families, Sparkplug is stateful: DATA messages name their
// metrics by the numeric aliases an earlier birth certificate defined, the
// bdSeq of the last NBIRTH tells a stale NDEATH from a current one, and an
// NDEATH takes every device born under that edge node offline with it. A
// SparkplugB value therefore remembers, per (base, group, edge node), the
// current session: bdSeq, last seq, and the metric definitions of the node's
// and its devices' births. This memory is bounded (MaxNodes edge nodes,
// MaxDevicesPerNode devices each, at most devices.MaxFields metrics per
// birth); the least recently used edge node is forgotten first, and a
// forgotten node's DATA with aliases is rejected until it is born again,
// exactly as after a bridge restart.
//
// # Concurrency
//
// A *SparkplugB is safe for concurrent use: Decode, Command, Stats and the
// Sampler methods may be called from any goroutine. The session state is
// guarded by one mutex held only for map updates, never during protobuf
// parsing. Decode is deterministic for a given session state, but not pure:
// messages of one edge node must be decoded in the order they arrived (MQTT
// keeps one publisher's messages in order on one subscription), or DATA may
// be judged against the wrong birth. Decode never retains or modifies
// Message.Payload; Readings it returns are owned by the caller. Sampler
// methods are pure; each goroutine passes its own *rand.Rand.
package sparkplug
