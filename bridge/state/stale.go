package state

import (
	"container/heap"

	"github.com/mqlive/mqlive/devices"
)

// staleItem is a device in its tenant's stale queue, with the deadline
// (Unix nanoseconds) after which it is stale unless heard from again.
type staleItem struct {
	at int64
	d  *Device
}

// staleQueue is a min-heap of staleItems by deadline (container/heap).
//
// A device is queued once, when it is heard while not queued, and not
// moved when heard again: moving it on every message would put a heap
// operation on the ingest path. When its deadline comes, SweepStale looks
// at when it was last heard and either marks it stale or queues it again
// with its real deadline. So a busy device costs one heap operation per
// stale interval, and a quiet fleet (already stale, or with deadlines far
// ahead) costs nothing per sweep.
type staleQueue []staleItem

func (q staleQueue) Len() int           { return len(q) }
func (q staleQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q staleQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *staleQueue) Push(x any)        { *q = append(*q, x.(staleItem)) }
func (q *staleQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = staleItem{}
	*q = old[:len(old)-1]
	return it
}

// staleDeadline is when d becomes stale unless heard from again.
func staleDeadline(d *Device) int64 { return d.LastSeen.UnixNano() + int64(d.StaleAfter) }

// watchStale queues d for SweepStale if it can become stale and is not
// queued yet, or is queued for a later deadline than its own (its stale
// interval shrank); the item queued before is then skipped when it comes.
func (t *Tenant) watchStale(d *Device) {
	if d.StaleAfter <= 0 || d.Reading.Stale {
		return
	}
	at := staleDeadline(d)
	if d.queuedAt != 0 && d.queuedAt <= at {
		return
	}
	heap.Push(&t.stale, staleItem{at: at, d: d})
	d.queuedAt = at
}

// SweepStale marks devices that have been silent longer than their stale
// interval and returns one Reading per device that just became stale, so
// that live dashboards learn about it without waiting for a snapshot. It
// visits only the devices whose queued deadline has passed.
func (t *Tenant) SweepStale() []devices.Reading {
	now := t.cfg.Now()
	nowN := now.UnixNano()
	var out []devices.Reading
	for len(t.stale) > 0 && t.stale[0].at < nowN {
		it := heap.Pop(&t.stale).(staleItem)
		d := it.d
		if it.at != d.queuedAt || t.devices[d.Reading.Device] != d {
			continue // superseded, or forgotten: another source took the id over
		}
		d.queuedAt = 0
		// Decided on the same clock reading as the queue, so a device
		// queued again is never due in this sweep.
		if staleDeadline(d) >= nowN {
			t.watchStale(d)
			continue
		}
		if d.Reading.Stale || d.StaleAfter <= 0 {
			continue
		}
		d.Reading.Stale = true
		t.changes.Add(1)
		out = append(out, d.staleNotice(now))
	}
	return out
}

// staleQueued is the number of devices in the stale queue (for tests).
func (t *Tenant) staleQueued() int { return len(t.stale) }
