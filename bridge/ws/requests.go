package ws

import (
	"context"
	"sync"
)

// requestPool answers requests on a few goroutines that live as long as
// the server, off the readers' stacks (see offStack).
//
// A goroutine per request did the same with less code, but each started
// on a small stack and grew it, copying, to what decoding JSON and
// verifying a token need: stack growth was 9% of the server's CPU while
// sockets connected (issue 10, W3: runtime.newstack/copystack under
// encoding/json, reflect and map lookups), and every new stack is zeroed
// memory. A worker grows its stack once and keeps it; the runtime may
// halve an idle worker's stack at a GC, which costs one copy, not one per
// request.
//
// The pool never makes a request wait for another: with every worker
// busy (a subscribe waiting on a remote store, say), a request runs on a
// goroutine of its own, as before.
type requestPool struct {
	// work hands a request to an idle worker; unbuffered, so a send
	// succeeds only when a worker is waiting for it.
	work chan func()
	stop chan struct{}
	size int // most workers kept

	mu      sync.Mutex // guards n and stopped, and orders wg.Add before wg.Wait
	n       int
	stopped bool
	wg      sync.WaitGroup
}

func newRequestPool(size int) *requestPool {
	return &requestPool{work: make(chan func()), stop: make(chan struct{}), size: size}
}

// run runs fn on a worker and waits for it; a panic in fn goes on on the
// caller's goroutine (the socket's handler recovers it), and the worker
// carries on.
func (p *requestPool) run(fn func()) {
	done := make(chan any, 1)
	task := func() {
		defer func() { done <- recover() }()
		fn()
	}
	select {
	case p.work <- task:
	default:
		p.start(task)
	}
	if r := <-done; r != nil {
		panic(r)
	}
}

// start runs task on a new worker, or on a goroutine of its own when the
// pool is full or stopped.
func (p *requestPool) start(task func()) {
	p.mu.Lock()
	if p.stopped || p.n >= p.size {
		p.mu.Unlock()
		go task()
		return
	}
	p.n++
	p.wg.Add(1)
	p.mu.Unlock()
	go p.worker(task)
}

func (p *requestPool) worker(task func()) {
	defer p.wg.Done()
	for {
		task()
		select {
		case task = <-p.work:
		case <-p.stop:
			return
		}
	}
}

// close ends the idle workers and waits, until ctx ends, for the busy
// ones to finish their request; requests after it run on goroutines of
// their own.
func (p *requestPool) close(ctx context.Context) {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
