// Package state keeps the bridge's in-memory state: the latest merged
// Reading of every device and a bounded history of every channel, with the
// epoch and offset of PROTOCOL.md.
//
// Concurrency: a Memory is safe for concurrent use. All work on one tenant
// happens inside Memory.Do, which holds that tenant's lock while its callback
// runs; callbacks must not block (delivering into a hub's bounded queues is
// fine). Holding the lock across "append to history" and "deliver" is what
// makes a subscriber's recovered publications, its subscribe result and its
// live publications line up with no gap and no duplicate. Tenants never
// share a lock, so one busy tenant does not slow another.
//
// Publications are immutable once appended: their Data and Frame slices are
// shared by every subscriber and by the history ring, and must not be
// modified.
package state
