// Package state keeps the bridge's in-memory state: the latest merged
// Reading of every device and a bounded history of every channel, with the
// epoch and offset of PROTOCOL.md.
//
// Store is the contract every backplane's store keeps (package valkey has
// the cluster one); Memory is the single-node store, and can save the
// latest device state to a file and load it at start (persist.go).
//
// Concurrency: a Memory is safe for concurrent use. All work on one tenant
// happens inside Memory.Do, which holds that tenant's lock while its callback
// runs; callbacks must not block (delivering into a hub's bounded queues is
// fine). The memory fan-out holds it across "append" and "deliver", so that
// delivery order is offset order; recovery does not depend on it (package
// hub merges by offset). Tenants never share a lock, so one busy tenant
// does not slow another.
//
// Publications are immutable once appended: their Data and Frame slices are
// shared by every subscriber, and Data by the history ring (and by every
// channel the same data was appended to), and must not be modified. The
// history keeps only each publication's data and time (history.go), about
// the size of its JSON, and builds a Publication again when a recovery or
// a history query reads it.
package state
