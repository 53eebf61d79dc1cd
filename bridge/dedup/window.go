package dedup

import (
	"hash/maphash"
	"sync"
	"time"
)

// Window remembers the keys of recent messages.
type Window struct {
	ttl  time.Duration
	size int
	seed maphash.Seed

	mu   sync.Mutex
	seen map[uint64]time.Time
	ring []uint64 // insertion order, for bounded eviction
	next int
}

// New returns a window that remembers up to size messages for ttl.
func New(ttl time.Duration, size int) *Window {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if size <= 0 {
		size = 100000
	}
	return &Window{ttl: ttl, size: size, seed: maphash.MakeSeed(), seen: make(map[uint64]time.Time, size)}
}

// Key hashes a message's identity: its topic and payload.
func (w *Window) Key(topic string, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	_, _ = h.WriteString(topic)
	_ = h.WriteByte(0)
	_, _ = h.Write(payload)
	return h.Sum64()
}

// Seen records key at now and reports whether it was already recorded
// within the window.
func (w *Window) Seen(key uint64, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.seen[key]; ok && now.Sub(at) <= w.ttl {
		w.seen[key] = now
		return true
	}
	if len(w.ring) < w.size {
		w.ring = append(w.ring, key)
	} else {
		if old := w.ring[w.next]; w.seen[old].Before(now.Add(-w.ttl)) || len(w.seen) >= w.size {
			delete(w.seen, old)
		}
		w.ring[w.next] = key
		w.next = (w.next + 1) % w.size
	}
	w.seen[key] = now
	return false
}

// Duplicate reports whether a message with the DUP flag repeats one taken
// within the window; every message, flagged or not, is recorded.
func (w *Window) Duplicate(topic string, payload []byte, dup bool, now time.Time) bool {
	seen := w.Seen(w.Key(topic, payload), now)
	return dup && seen
}
