// Package hub routes publications from channels to the sessions subscribed
// to them, without ever blocking on a slow client (STYLE.md §8).
//
// Every Session owns one bounded queue and is drained by exactly one writer
// goroutine (in package ws) that calls Session.Next. Deliver only appends to
// queues under the session's short lock, so a stuck socket delays nobody
// else. Stream-mode subscriptions queue every publication and, on overflow,
// drop that channel's pending frames and send a lagged notification; a
// session that stays behind longer than its slow-consumer timeout is closed
// with 4009. Latest-mode subscriptions keep one pending slot per device and
// merge Readings into it (latest wins per metric) while the writer is busy,
// so they are never disconnected for being slow.
//
// Concurrency: Hub and Session are safe for concurrent use. Lock order is
// Hub.mu before Session.mu; Session.mu is never held while calling out.
// Frames handed out by Next are shared and must not be modified.
package hub
