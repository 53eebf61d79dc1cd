package client

import "sync"

// queue is the actor's inbox: unbounded, ordered, and never blocking the
// sender. A bounded channel could block a JavaScript callback while the
// actor itself is inside a JavaScript call, which deadlocks (WASM.md §6.1).
type queue struct {
	mu     sync.Mutex
	items  []func()
	closed bool
	sig    chan struct{}
}

func newQueue() *queue { return &queue{sig: make(chan struct{}, 1)} }

// push appends f; it reports false when the queue is closed.
func (q *queue) push(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.sig <- struct{}{}:
	default:
	}
	return true
}

// take returns everything queued so far.
func (q *queue) take() []func() {
	q.mu.Lock()
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}

// close refuses further pushes and returns what was still queued.
func (q *queue) close() []func() {
	q.mu.Lock()
	q.closed = true
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}
