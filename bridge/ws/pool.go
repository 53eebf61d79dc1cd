package ws

import (
	"container/heap"
	"runtime"
	"sync"
	"time"
)

// writerPool runs the writes of sockets that have something to send on a
// few long-lived goroutines, one per core, fed by a queue of ready sockets
// (issue 10, W1's burst and W2). Starting a writer goroutine per wake-up
// cost a goroutine start and exit, a scheduler pass and often a wake-up of
// an idle core for every delivery to a cold socket: in a W1 burst at
// 10 msg/s the server spent 3.9% of its CPU in runtime.newproc, 7.5% in
// goexit0 and 5.7% in schedule. A worker takes the next socket instead.
//
// A worker never waits on one socket (conn.drain): a batch the socket does
// not take at once, and control frames (written through the library, which
// blocks), go on on a writer goroutine of the socket's own, as before the
// pool; so a slow peer holds up nobody. Each socket is queued at most once
// and has at most one writer at a time (conn.writing), which keeps its
// frames in order.
//
// The pool also ends hot sockets' coalescing windows (conn.deferFor): one
// timer for all of them (pace) queues each socket whose window is over,
// where a timer per socket started a goroutine per window, and the write
// then ran on it, off the pool (about 50k goroutine starts a second in W1
// at 30 msg/s).
type writerPool struct {
	mu   sync.Mutex
	cond sync.Cond // workers wait on it for a socket
	// ring holds the n queued sockets from head on; it grows to the most
	// ever queued at once (a burst queues every subscriber: 5,000 × 16 B).
	ring    []queued
	head, n int
	// workers is how many run (GOMAXPROCS when started; tests set it
	// first), awake how many of them are not waiting on cond or have been
	// signalled to stop waiting. A push wakes a worker only when none is
	// awake, or when the queue is longer than wakeDepth per awake worker:
	// a worker that runs takes every queued socket before it waits, so a
	// publication to five sockets (W2) wakes one worker once, not one per
	// socket; each wake-up is a futex call and a scheduler pass, often an
	// idle core's too (issue 10, W2: 0.45 futex calls per delivery).
	workers, awake int
	wakes          int // workers signalled, for tests
	started        bool
	stopped        bool
	wg             sync.WaitGroup
	// run writes for a queued socket; nil means conn.drain (tests set it).
	run func(cn *conn, now bool)

	// The coalescing windows being waited out, by when they end: a
	// min-heap of sockets under dmu, by conn.deferEnd. A socket is in it
	// at most once (conn.deferAt is its index + 1), so a later window of
	// the same socket moves its entry rather than adding one.
	dmu      sync.Mutex
	deferred deferredHeap
	// pacerAt is when the pace goroutine wakes next (mono; 0: only when
	// told through pacerWake); a window that ends sooner must tell it.
	pacerAt   time.Duration
	pacerWake chan struct{}
	pacerDone chan struct{} // closed when pace returns
	dstopped  bool
}

// queued is a socket waiting for a worker; now says its writer takes its
// first batch without looking at the pace (its window has ended, or
// urgent work ended it).
type queued struct {
	cn  *conn
	now bool
}

// wakeDepth is how many queued sockets each awake worker may have ahead
// of it before a push wakes one more: a write to a cold socket costs
// 10–20 µs, so a socket waits at most a few hundred microseconds for a
// worker that is already running, and a 5,000-way burst still wakes every
// worker almost at once.
const wakeDepth = 8

// paceSlack is how early the pace goroutine ends a window so that
// windows ending close together are ended by one timer expiry: with
// 5,000 hot sockets a window ends every 20 µs on average. Ending one up
// to 2 ms early leaves the 100 ms window's batching as it was.
const paceSlack = 2 * time.Millisecond

// push queues cn for a worker and reports whether it did; once the pool
// has stopped it does not, and the caller starts a writer of cn's own.
// now is queued's. The workers start with the first push, so a Server
// that never serves runs none.
func (p *writerPool) push(cn *conn, now bool) bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	if !p.started {
		p.start()
	}
	if p.n == len(p.ring) {
		ring := make([]queued, max(64, 2*len(p.ring)))
		k := copy(ring, p.ring[p.head:])
		copy(ring[k:], p.ring[:p.head])
		p.ring, p.head = ring, 0
	}
	p.ring[(p.head+p.n)%len(p.ring)] = queued{cn, now}
	p.n++
	if p.awake < p.workers && (p.awake == 0 || p.n > wakeDepth*p.awake) {
		p.awake++
		p.wakes++
		p.cond.Signal()
	}
	p.mu.Unlock()
	return true
}

// start starts the workers and the pace goroutine; mu is held.
func (p *writerPool) start() {
	p.started = true
	p.cond.L = &p.mu
	if p.workers == 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	if p.run == nil {
		p.run = (*conn).drain
	}
	p.awake = p.workers
	for range p.workers {
		p.wg.Add(1)
		go p.work()
	}
	p.dmu.Lock()
	p.pacerWake = make(chan struct{}, 1)
	p.pacerDone = make(chan struct{})
	p.dmu.Unlock()
	go p.pace()
}

// work is one worker: it writes for the queued sockets in turn until the
// pool stops and the queue is empty.
func (p *writerPool) work() {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		if p.n == 0 {
			if p.stopped {
				p.mu.Unlock()
				return
			}
			// The push that wakes this worker counts it awake again
			// (stop's broadcast counts nothing: no push follows it).
			p.awake--
			p.cond.Wait()
			continue
		}
		q := p.ring[p.head]
		p.ring[p.head] = queued{}
		p.head = (p.head + 1) % len(p.ring)
		p.n--
		p.mu.Unlock()
		p.run(q.cn, q.now)
		p.mu.Lock()
	}
}

// deferUntil has cn's writer started at mono() reading at, unless an
// urgent kick starts it first (conn.deferred, which the caller has set).
// It reports false once the pool has stopped; the caller then keeps a
// timer of the socket's own.
func (p *writerPool) deferUntil(cn *conn, at time.Duration) bool {
	p.dmu.Lock()
	if p.dstopped || p.pacerWake == nil {
		p.dmu.Unlock()
		return false
	}
	cn.deferEnd = at
	if i := cn.deferAt - 1; i >= 0 {
		heap.Fix(&p.deferred, i)
	} else {
		heap.Push(&p.deferred, cn)
	}
	// The pace goroutine sleeps until pacerAt: tell it about a window
	// that ends sooner (rare: windows are as long for every socket, so a
	// new one mostly ends after those already waiting).
	tell := p.pacerAt == 0 || at < p.pacerAt-paceSlack
	if tell {
		p.pacerAt = at
	}
	p.dmu.Unlock()
	if tell {
		select {
		case p.pacerWake <- struct{}{}:
		default:
		}
	}
	return true
}

// pace is the pool's one coalescing timer: it queues, in the order their
// windows end, the sockets whose window ends within paceSlack, then
// sleeps until the next one does. Once the pool stops, it ends every
// window at once (so that each socket's writer runs and ends) and returns.
func (p *writerPool) pace() {
	defer close(p.pacerDone)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []*conn // reused: pace-owned
	for {
		p.dmu.Lock()
		now := mono()
		stop := p.dstopped
		for len(p.deferred) > 0 && (stop || p.deferred[0].deferEnd <= now+paceSlack) {
			due = append(due, heap.Pop(&p.deferred).(*conn))
		}
		p.pacerAt = 0
		if len(p.deferred) > 0 {
			p.pacerAt = p.deferred[0].deferEnd
		}
		next := p.pacerAt
		p.dmu.Unlock()
		for _, cn := range due {
			cn.windowOver()
		}
		clear(due)
		due = due[:0]
		if stop {
			return
		}
		if next == 0 {
			t.Stop()
		} else {
			t.Reset(next - now)
		}
		select {
		case <-t.C:
		case <-p.pacerWake:
		}
	}
}

// deferredHeap is the windows being waited out, a container/heap ordered
// by conn.deferEnd; conn.deferAt follows each socket's index (+ 1), so
// that a later window of a socket moves its entry (heap.Fix).
type deferredHeap []*conn

func (h deferredHeap) Len() int           { return len(h) }
func (h deferredHeap) Less(i, j int) bool { return h[i].deferEnd < h[j].deferEnd }

func (h deferredHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].deferAt, h[j].deferAt = i+1, j+1
}

func (h *deferredHeap) Push(x any) {
	cn := x.(*conn)
	*h = append(*h, cn)
	cn.deferAt = len(*h)
}

func (h *deferredHeap) Pop() any {
	old := *h
	last := len(old) - 1
	cn := old[last]
	old[last] = nil
	*h = old[:last]
	cn.deferAt = 0
	return cn
}

// stop ends the pace goroutine once it has ended every window, then the
// workers once the queue is empty (the sockets whose windows ended among
// it); later pushes and windows are refused.
func (p *writerPool) stop() {
	p.dmu.Lock()
	p.dstopped = true
	wake, done := p.pacerWake, p.pacerDone
	p.dmu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
		<-done
	}
	p.mu.Lock()
	p.stopped = true
	if p.started {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
