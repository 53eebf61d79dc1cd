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

// query returns up to limit publications after since (by offset, when set)
// and at or before until (when non-zero), oldest first, and whether the
// result is complete: nothing in the requested range had been dropped and
// nothing was cut by limit.
func (h *history) query(since *wire.StreamPosition, until time.Time, limit int, ttl time.Duration, now time.Time) ([]*Publication, bool) {
	complete := true
	first := 0
	if since != nil {
		if since.Epoch != h.epoch {
			complete = false
		} else if len(h.ring) > 0 {
			oldest := h.at(0).Offset
			if since.Offset+1 < oldest {
				complete = false
			}
			for first < len(h.ring) && h.at(first).Offset <= since.Offset {
				first++
			}
		}
	} else if len(h.ring) > 0 && h.at(0).Offset > 1 {
		complete = false
	}
	var out []*Publication
	for i := first; i < len(h.ring); i++ {
		p := h.at(i)
		if ttl > 0 && now.Sub(p.Time) > ttl {
			complete = false
			continue
		}
		if !until.IsZero() && p.Time.After(until) {
			break
		}
		if len(out) == limit {
			complete = false
			break
		}
		out = append(out, p)
	}
	return out, complete
}
