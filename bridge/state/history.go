package state

import (
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

// history is a bounded ring of a channel's latest publications.
type history struct {
	epoch  string
	offset uint64 // offset of the newest publication; 0 = none yet
	ring   []*Publication
	start  int // index of the oldest entry in ring once it is full
	size   int
}

func newHistory(epoch string, size int) *history {
	return &history{epoch: epoch, size: size}
}

func (h *history) append(p *Publication) {
	h.offset = p.Offset
	if len(h.ring) < h.size {
		h.ring = append(h.ring, p)
		return
	}
	h.ring[h.start] = p
	h.start = (h.start + 1) % h.size
}

// at returns the i-th oldest retained publication.
func (h *history) at(i int) *Publication { return h.ring[(h.start+i)%len(h.ring)] }

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
	if missed > len(h.ring) {
		return nil, false
	}
	out := make([]*Publication, 0, missed)
	for i := len(h.ring) - missed; i < len(h.ring); i++ {
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
	if n := len(h.ring); n > 0 && q.From.IsZero() {
		if oldest := h.at(0).Offset; oldest > after+1 && (before == 0 || before > after+1) {
			complete = false
		}
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
		for i := len(h.ring) - 1; i >= 0 && take(h.at(i)); i-- {
		}
	} else {
		for i := 0; i < len(h.ring) && take(h.at(i)); i++ {
		}
	}
	return out, complete
}
