package state

import (
	"container/list"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

// history is a bounded queue of a channel's latest publications: at most
// size of them and, when maxBytes is set, at most maxBytes bytes of data
// (the newest is always kept). Publications are freed as they
// leave it, trimmed or expired, never only skipped.
//
// It keeps each publication compact (an entry: its data and its time),
// not the Publication that was delivered: offsets are consecutive, so an
// entry's offset follows from its place, and its frame is built again
// only when a recovery or a history query reads it. The data slice is the
// one the publisher passed, so the devices and device:<id> channels of one
// Reading share one copy.
type history struct {
	name   string
	epoch  string
	offset uint64 // offset of the newest publication; 0 = none yet
	// ring[head], ring[head+1 mod len], ... are the count retained
	// entries, oldest first. It grows by doubling up to size, so a
	// channel that publishes little holds little.
	ring     []entry
	head     int
	count    int
	size     int
	maxBytes int64
	bytes    int64 // entryBytes of the retained entries
	// last is when the newest publication was appended.
	last time.Time
	// lostAt is the time of the newest publication dropped because it
	// expired, so that a time-bounded query still reports it as lost (as
	// when expired publications were kept and skipped; trims are not
	// reported to time-bounded queries, as in the Valkey store).
	lostAt time.Time
	// lru is the channel's element in its tenant's recency list.
	lru *list.Element
}

// entry is one retained publication.
type entry struct {
	data []byte // shared with every channel the same data was appended to
	at   int64  // append time, Unix nanoseconds
}

// entryBytes is what a publication counts against the byte limits: its
// data, as in the Valkey store. Data shared by several channels counts in
// each, so the limits bound memory from above; the ring slot (32 bytes) is
// bounded by the count.
func entryBytes(data []byte) int64 { return int64(len(data)) }

func newHistory(epoch string, size int) *history {
	return &history{epoch: epoch, size: size}
}

// emptyHistory answers reads of a channel that does not exist, without
// creating it: epoch "" and offset 0, as the Valkey store. Never modified.
var emptyHistory = &history{}

// n is the number of retained publications.
func (h *history) n() int { return h.count }

// slot is the ring index of the i-th oldest retained entry.
func (h *history) slot(i int) int {
	j := h.head + i
	if j >= len(h.ring) {
		j -= len(h.ring)
	}
	return j
}

// append retains p's data and time; p.Offset must be h.offset+1.
func (h *history) append(p *Publication) {
	h.offset = p.Offset
	h.last = p.Time
	if h.count == len(h.ring) && h.count < h.size {
		h.grow()
	}
	if h.count == len(h.ring) { // full at size: the oldest makes room
		h.drop()
	}
	h.ring[h.slot(h.count)] = entry{data: p.Data, at: p.Time.UnixNano()}
	h.count++
	h.bytes += entryBytes(p.Data)
	for h.maxBytes > 0 && h.bytes > h.maxBytes && h.count > 1 {
		h.drop()
	}
}

// grow doubles the ring (up to size), oldest entry first.
func (h *history) grow() {
	ring := make([]entry, min(max(2*len(h.ring), 4), h.size))
	for i := 0; i < h.count; i++ {
		ring[i] = h.ring[h.slot(i)]
	}
	h.ring, h.head = ring, 0
}

// drop frees the oldest retained publication.
func (h *history) drop() {
	e := &h.ring[h.head]
	h.bytes -= entryBytes(e.data)
	*e = entry{}
	h.head = h.slot(1)
	h.count--
}

// dropExpired frees the publications older than ttl at now.
func (h *history) dropExpired(ttl time.Duration, now time.Time) {
	for h.count > 0 {
		at := time.Unix(0, h.ring[h.head].at)
		if !expired(at, ttl, now) {
			return
		}
		h.lostAt = at
		h.drop()
	}
}

// offsetAt is the offset of the i-th oldest retained publication.
func (h *history) offsetAt(i int) uint64 { return h.offset - uint64(h.count-1-i) }

// timeAt is the append time of the i-th oldest retained publication.
func (h *history) timeAt(i int) time.Time { return time.Unix(0, h.ring[h.slot(i)].at) }

// at builds the i-th oldest retained publication, with its frame.
func (h *history) at(i int) *Publication {
	e := h.ring[h.slot(i)]
	return NewPublication(h.name, h.epoch, h.offsetAt(i), e.data, nil, time.Unix(0, e.at))
}

// since returns every publication after pos, oldest first, and whether the
// history still holds all of them (PROTOCOL.md "Subscribe, recovery and
// snapshot"). Publications older than ttl count as lost.
func (h *history) since(pos wire.StreamPosition, ttl time.Duration, now time.Time) ([]*Publication, bool) {
	if pos.Epoch != h.epoch || pos.Offset > h.offset {
		return nil, false
	}
	missed := int(h.offset - pos.Offset)
	if missed == 0 {
		return nil, true
	}
	if missed > h.n() {
		return nil, false
	}
	out := make([]*Publication, 0, missed)
	for i := h.n() - missed; i < h.n(); i++ {
		if ttl > 0 && now.Sub(h.timeAt(i)) > ttl {
			return nil, false
		}
		out = append(out, h.at(i))
	}
	return out, true
}

// query answers q (see HistoryQuery): up to q.Limit publications inside
// its bounds, oldest first or, with q.Reverse, newest first, and whether
// the page is complete: nothing in the requested range had been dropped
// (trimmed, expired, or from an earlier epoch) and nothing was cut by the
// limit.
func (h *history) query(q HistoryQuery, ttl time.Duration, now time.Time) ([]*Publication, bool) {
	complete := true
	var after uint64 // only offsets above this one
	if q.Since != nil {
		if q.Since.Epoch != h.epoch {
			complete = false
		} else {
			after = q.Since.Offset
		}
	}
	before := q.Before // only offsets below this one; 0 = none
	in := func(off uint64, at time.Time) bool {
		if off <= after || (before > 0 && off >= before) {
			return false
		}
		if !q.From.IsZero() && at.Before(q.From) {
			return false
		}
		return q.Until.IsZero() || !at.After(q.Until)
	}
	// Publications the range asks for but the ring no longer holds.
	if n := h.n(); n > 0 && q.From.IsZero() {
		if oldest := h.offsetAt(0); oldest > after+1 && (before == 0 || before > after+1) {
			complete = false
		}
	}
	// A time-bounded range that reaches back to a dropped publication.
	if !q.From.IsZero() && !h.lostAt.Before(q.From) && (q.Until.IsZero() || !q.Until.Before(q.From)) {
		complete = false
	}
	var out []*Publication
	// take builds only the publications the page returns.
	take := func(i int) bool {
		at := h.timeAt(i)
		if !in(h.offsetAt(i), at) {
			return true
		}
		if expired(at, ttl, now) {
			complete = false
			return true
		}
		if len(out) == q.Limit {
			complete = false
			return false
		}
		out = append(out, h.at(i))
		return true
	}
	if q.Reverse {
		for i := h.n() - 1; i >= 0 && take(i); i-- {
		}
	} else {
		for i := 0; i < h.n() && take(i); i++ {
		}
	}
	return out, complete
}
