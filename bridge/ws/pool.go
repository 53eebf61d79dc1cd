package ws

import (
	"runtime"
	"sync"
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
type writerPool struct {
	mu   sync.Mutex
	cond sync.Cond // workers wait on it for a socket
	// ring holds the n queued sockets from head on; it grows to the most
	// ever queued at once (a burst queues every subscriber: 5,000 × 8 B).
	ring    []*conn
	head, n int
	idle    int // workers waiting on cond
	started bool
	stopped bool
	wg      sync.WaitGroup
}

// push queues cn for a worker and reports whether it did; once the pool
// has stopped it does not, and the caller starts a writer of cn's own.
// The workers start with the first push, so a Server that never serves
// runs none.
func (p *writerPool) push(cn *conn) bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	if !p.started {
		p.started = true
		p.cond.L = &p.mu
		for range runtime.GOMAXPROCS(0) {
			p.wg.Add(1)
			go p.work()
		}
	}
	if p.n == len(p.ring) {
		ring := make([]*conn, max(64, 2*len(p.ring)))
		k := copy(ring, p.ring[p.head:])
		copy(ring[k:], p.ring[:p.head])
		p.ring, p.head = ring, 0
	}
	p.ring[(p.head+p.n)%len(p.ring)] = cn
	p.n++
	if p.idle > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
	return true
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
			p.idle++
			p.cond.Wait()
			p.idle--
			continue
		}
		cn := p.ring[p.head]
		p.ring[p.head] = nil
		p.head = (p.head + 1) % len(p.ring)
		p.n--
		p.mu.Unlock()
		cn.drain()
		p.mu.Lock()
	}
}

// stop ends the workers once the queue is empty; later pushes are refused.
func (p *writerPool) stop() {
	p.mu.Lock()
	p.stopped = true
	if p.started {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
