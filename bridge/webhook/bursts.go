package webhook

import (
	"context"
	"maps"
	"sync"
	"time"
)

// RejectedData is the data of a source.rejected event: the rejected
// messages of one source within one window.
type RejectedData struct {
	Family      string         `json:"family"`
	Base        string         `json:"base"`
	Total       int            `json:"total"`
	Reasons     map[string]int `json:"reasons"`
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"`
}

// burstKey is one source of one tenant. Sources come from the
// configuration, so the map of them is bounded by it.
type burstKey struct{ tenant, family, base string }

type burst struct {
	start   time.Time
	total   int
	reasons map[string]int
}

// bursts counts rejected messages per source in windows that start at a
// source's first rejection.
type bursts struct {
	threshold int
	window    time.Duration
	mu        sync.Mutex
	open      map[burstKey]*burst
}

func newBursts(threshold int, window time.Duration) *bursts {
	return &bursts{threshold: threshold, window: window, open: map[burstKey]*burst{}}
}

// add counts one rejection; it holds the lock for a map update only (it
// runs on the ingest path).
func (b *bursts) add(tenant, family, base, reason string, now time.Time) {
	k := burstKey{tenant, family, base}
	b.mu.Lock()
	w := b.open[k]
	if w == nil {
		w = &burst{start: now, reasons: map[string]int{}}
		b.open[k] = w
	}
	w.total++
	w.reasons[reason]++
	b.mu.Unlock()
}

// due removes the windows that ended by now and returns, per tenant, the
// data of those that reached the threshold.
func (b *bursts) due(now time.Time) (tenants []string, data []RejectedData) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, w := range b.open {
		end := w.start.Add(b.window)
		if now.Before(end) {
			continue
		}
		delete(b.open, k)
		if w.total < b.threshold {
			continue
		}
		tenants = append(tenants, k.tenant)
		data = append(data, RejectedData{Family: k.family, Base: k.base, Total: w.total,
			Reasons: maps.Clone(w.reasons), WindowStart: w.start.UTC(), WindowEnd: end.UTC()})
	}
	return tenants, data
}

// flushBursts turns ended windows into events on this endpoint until ctx
// ends. It looks ten times per window, so an event leaves at most a tenth
// of a window late.
func (e *endpoint) flushBursts(ctx context.Context, d *Dispatcher) {
	if !e.wantsAny(EventSourceRejected) {
		return
	}
	t := time.NewTicker(max(e.cfg.RejectedWindow/10, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			tenants, data := e.bursts.due(now)
			for i := range data {
				e.enqueue(&Event{ID: newID(), Type: EventSourceRejected, Tenant: tenants[i], Node: d.node,
					CreatedAt: now.UTC(), Data: data[i]})
			}
		}
	}
}

// wantsAny reports whether the endpoint wants events of type typ of any
// tenant.
func (e *endpoint) wantsAny(typ string) bool { return e.events == nil || e.events[typ] }
