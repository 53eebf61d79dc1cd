// Package webhook delivers mqlive events (device online, offline and
// stale transitions, bursts of rejected messages per source, command
// results) to HTTP endpoints the operator configures, as signed JSON POSTs.
//
// Each endpoint has its own bounded queue and its own workers, so a slow or
// dead receiver delays only its own deliveries: Emit and Rejected never
// block. When a queue is full the oldest queued event is dropped and
// counted (outcome "dropped"), because the newest state transition is the
// one a receiver needs most. A failed attempt (network error, timeout or a
// non-2xx status) is retried with exponential backoff and jitter until the
// endpoint's max_attempts or max_retry_time is reached, then given up and
// counted (outcome "gave_up"). Deliveries are at least once within that
// bound and not ordered across workers; a receiver deduplicates by the
// event id (header Mqlive-Event-Id), which every attempt repeats. Queued
// events live in memory only: they are lost when the node stops.
//
// Signing: every attempt carries Mqlive-Timestamp (Unix seconds, set per
// attempt) and Mqlive-Signature "v1=" + hex(HMAC-SHA256(secret, timestamp
// + "." + body)). Verify checks both, with a tolerance on the timestamp
// against replays.
//
// A Dispatcher is safe for concurrent use; a nil *Dispatcher accepts every
// call and does nothing, so callers need no "webhooks configured?" check.
// Emit copies nothing it is given after it returns: event data must not
// be modified by the caller afterwards (the bridge builds it fresh).
package webhook
