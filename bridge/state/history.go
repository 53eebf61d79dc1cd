package state

import (
	"container/list"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

// history is a bounded queue of a channel's latest publications: at most
// size of them and, when maxBytes is set, at most maxBytes bytes of data
// (the newest is always kept). Publications are freed as they leave it,
// trimmed or expired, never only skipped.
type history struct {
	name   string
	epoch  string
	offset uint64 // offset of the newest publication; 0 = none yet
	// pubs[head:] are the retained publications, oldest first; the slots
	// before head are nil and reclaimed by compaction.
	pubs     []*Publication
	head     int
	size     int
	maxBytes int64
	bytes    int64 // data bytes retained
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

func newHistory(epoch string, size int) *history {
	return &history{epoch: epoch, size: size}
}

// emptyHistory answers reads of a channel that does not exist, without
// creating it: epoch "" and offset 0, as the Valkey store. Never modified.
var emptyHistory = &history{}

// n is the number of retained publications.
func (h *history) n() int { return len(h.pubs) - h.head }

// pubBytes is what a publication counts against the byte limits: its
// data (the memory store also keeps its frame, about as large).
func pubBytes(p *Publication) int64 { return int64(len(p.Data)) }

func (h *history) append(p *Publication) {
	h.offset = p.Offset
	h.last = p.Time
	h.pubs = append(h.pubs, p)
	h.bytes += pubBytes(p)
	for h.n() > h.size || (h.maxBytes > 0 && h.bytes > h.maxBytes && h.n() > 1) {
		h.drop()
	}
}

// drop frees the oldest retained publication.
func (h *history) drop() {
	p := h.pubs[h.head]
	h.pubs[h.head] = nil
	h.head++
	h.bytes -= pubBytes(p)
	// Compact once half the slice is dead: amortised O(1) per drop.
	if h.head*2 >= len(h.pubs) {
		n := copy(h.pubs, h.pubs[h.head:])
		clear(h.pubs[n:])
		h.pubs = h.pubs[:n]
		h.head = 0
	}
}

// dropExpired frees the publications older than ttl at now.
func (h *history) dropExpired(ttl time.Duration, now time.Time) {
	for h.n() > 0 && expired(h.pubs[h.head].Time, ttl, now) {
		h.lostAt = h.pubs[h.head].Time
		h.drop()
	}
}

// at returns the i-th oldest retained publication.
func (h *history) at(i int) *Publication { return h.pubs[h.head+i] }

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
		p := h.at(i)
		if ttl > 0 && now.Sub(p.Time) > ttl {
			return nil, false
		}
		out = append(out, p)
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
	in := func(p *Publication) bool {
		if p.Offset <= after || (before > 0 && p.Offset >= before) {
			return false
		}
		if !q.From.IsZero() && p.Time.Before(q.From) {
			return false
		}
		return q.Until.IsZero() || !p.Time.After(q.Until)
	}
	// Publications the range asks for but the ring no longer holds.
	if n := h.n(); n > 0 && q.From.IsZero() {
		if oldest := h.at(0).Offset; oldest > after+1 && (before == 0 || before > after+1) {
			complete = false
		}
	}
	// A time-bounded range that reaches back to a dropped publication.
	if !q.From.IsZero() && !h.lostAt.Before(q.From) && (q.Until.IsZero() || !q.Until.Before(q.From)) {
		complete = false
	}
	var out []*Publication
	take := func(p *Publication) bool {
		if !in(p) {
			return true
		}
		if expired(p.Time, ttl, now) {
			complete = false
			return true
		}
		if len(out) == q.Limit {
			complete = false
			return false
		}
		out = append(out, p)
		return true
	}
	if q.Reverse {
		for i := h.n() - 1; i >= 0 && take(h.at(i)); i-- {
		}
	} else {
		for i := 0; i < h.n() && take(h.at(i)); i++ {
		}
	}
	return out, complete
}
