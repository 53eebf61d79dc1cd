// Package hub routes publications from channels to the sessions subscribed
// to them, without ever blocking on a slow client (STYLE.md §8).
//
// Every Session owns one bounded queue and is drained by exactly one writer
// goroutine (in package ws), which runs only while there is work: the
// session's waker starts it, and it takes batches with Session.Take until
// that reports ErrIdle. Keep-alive pings (Session.Ping) and pongs go
// through the same queue, so nothing else writes to the socket. Session.Next
// is the blocking form, for writers that stay. Deliver only appends to
// queues under the session's short lock, so a stuck socket delays nobody
// else. Stream-mode subscriptions queue every publication and, on overflow,
// drop that channel's pending frames and send a lagged notification; a
// session that stays behind longer than its slow-consumer timeout is closed
// with 4009. Latest-mode subscriptions keep one pending slot per device and
// merge Readings into it (latest wins per metric) while the writer is busy,
// so they are never disconnected for being slow. Responses, notices and
// recovered publications (Send, Recover) are bounded in bytes instead
// (Config.MaxQueuedReplyBytes): a session that lets more wait is closed
// with 4009 and its queue freed, so a client that requests large
// snapshots and never reads cannot grow the node.
//
// Delivery of one publication to a channel with many local subscribers
// (hundreds or more) is split into contiguous shards of its subscriber
// list, one goroutine per core; Deliver returns when all are queued, so a
// session still gets a channel's publications in order. A publication's
// frame is encoded once (state.Publication.Frame) and shared by every
// session. Waking a writer is a non-blocking send on that session's own
// channel, and only the first delivery since the writer last took its
// queue sends it, so there is no lock all writers share and a busy
// writer costs its producers nothing more. A wake-up says whether the new
// work is urgent (a reply, ping, pong or close) or publications only, so
// that a writer that holds a busy socket's publications back to write
// several at once (package ws) still answers requests at once.
//
// One delivery path: the hub is the fan-out's Handler (Deliver and Lost).
// It subscribes a channel upstream (Config.Upstream, the fan-out) when the
// node's first session wants it and unsubscribes after the last one leaves,
// serialised per channel so that the two never cross; a failed upstream
// subscribe changes nothing.
//
// Recovery without a global lock, as centrifuge does it: Hub.Subscribe
// returns a recovering Sub that holds the channel's live publications; the
// caller then reads the store (the publications after the client's offset,
// or a snapshot, and the channel's position), and Session.Recover queues the
// recovered publications, the subscribe result, and the held publications
// after that position, merged by offset: no duplicate, no gap. A live
// publication that does not follow the last one queued (a gap, or a new
// epoch when the store lost its history) gets a lagged notice, so the client
// re-syncs with since; so does Hub.Lost, when the fan-out's connection was
// interrupted.
//
// Concurrency: Hub and Session are safe for concurrent use. Lock order is a
// channel's stripe lock, then Hub.mu, then Session.mu; Session.mu is never
// held while calling out, and Hub.mu never across an upstream call.
// Frames handed out by Next are shared and must not be modified.
package hub
