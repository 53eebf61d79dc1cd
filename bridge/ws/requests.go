package ws

import (
	"context"
	"sync"
)

// requestPool answers requests on a few goroutines that live as long as
// the server, off the readers' stacks (see conn.frame).
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
	work chan *job
	stop chan struct{}
	size int // most workers kept

	mu      sync.Mutex // guards n and stopped, and orders wg.Add before wg.Wait
	n       int
	stopped bool
	wg      sync.WaitGroup
}

func newRequestPool(size int) *requestPool {
	return &requestPool{work: make(chan *job), stop: make(chan struct{}), size: size}
}

// job is one request handed to a worker. Jobs are pooled with their
// channel, so that handing a request over allocates nothing (a closure,
// a channel and the results it captured were five allocations per
// request).
type job struct {
	fn       func(*job)
	cn       *conn
	data     []byte
	done     bool
	code     int
	finished chan any // the panic in fn, or nil; one slot
}

var jobs = sync.Pool{New: func() any { return &job{finished: make(chan any, 1)} }}

// newJob returns a pooled job that runs fn.
func newJob(fn func(*job)) *job {
	j := jobs.Get().(*job)
	j.fn = fn
	return j
}

// release gives j back once its caller has read its results.
func (j *job) release() {
	*j = job{finished: j.finished}
	jobs.Put(j)
}

// exec runs the job and reports its end; it is the last use of j on the
// worker's side, as the caller may reuse it at once.
func (j *job) exec() {
	defer func() { j.finished <- recover() }()
	j.fn(j)
}

// run runs j on a worker and waits for it; a panic in j goes on on the
// caller's goroutine (the socket's handler recovers it), and the worker
// carries on.
func (p *requestPool) run(j *job) {
	select {
	case p.work <- j:
	default:
		p.start(j)
	}
	if r := <-j.finished; r != nil {
		panic(r)
	}
}

// start runs j on a new worker, or on a goroutine of its own when the
// pool is full or stopped.
func (p *requestPool) start(j *job) {
	p.mu.Lock()
	if p.stopped || p.n >= p.size {
		p.mu.Unlock()
		go j.exec()
		return
	}
	p.n++
	p.wg.Add(1)
	p.mu.Unlock()
	go p.worker(j)
}

func (p *requestPool) worker(j *job) {
	defer p.wg.Done()
	for {
		j.exec()
		select {
		case j = <-p.work:
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
