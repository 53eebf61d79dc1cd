package ws

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

// The keep-alive wheel is the one timer of every socket of the server: it
// sends the pings, ends the reads of peers gone silent and of sockets that
// never sent connect, closes sessions whose token expired, and gives back
// the places of upgrades no socket claimed. A runtime timer per socket for
// each of these (three time.AfterFunc and a read deadline reset on every
// frame) cost a timer allocation, a heap insertion under the timers' lock
// and a goroutine per firing, three to five times per connect, and kept
// two timers and a closure per idle socket (issue 10, W3). The wheel
// visits a socket only when something of it may be due: its cost is in
// proportion to the sockets due, and a socket's own bookkeeping is a few
// atomic stores.
//
// A socket is filed under the tick of its next ping, read deadline or
// token expiry, whichever comes first. The reader moves its read deadline
// later with an atomic store and leaves the socket where it is filed: a
// visit that finds nothing due files it again under the new time. Only an
// earlier time (a refreshed token that expires sooner) moves it at once
// (wheel.advance).
//
// An overdue read deadline is applied by setting one in the past on the
// socket (net.Conn.SetReadDeadline), so the reader fails exactly as it did
// on the deadline it used to set itself: a timeout, read as 4001 before
// connect and as 1006 after.
type wheel struct {
	tick time.Duration
	ping time.Duration // PingInterval

	mu sync.Mutex
	// slots hold the filed sockets, tick t in slots[t%len(slots)], each
	// slot a doubly linked list through keepalive.prev and next. A socket
	// filed more than a turn ahead waits in its slot for its turn.
	slots []*conn
	swept int64 // the last tick swept; guarded by mu
	due   []*conn
	// expire gives back the places of admissions that expired (Server.
	// expireAdmissions); called on every sweep, outside mu.
	expire func(now time.Duration)
}

// Read deadline states of keepalive.readBy besides a deadline (> 0).
const (
	readOff   = 0  // none: the socket is closing, its linger has its own
	readFired = -1 // passed: the wheel has ended the socket's read
)

// keepalive is a socket's state in the wheel.
type keepalive struct {
	// nc is the accepted network connection, not the library's wrapper of
	// it (which the library reuses once the handler returns): the wheel
	// may still visit a socket whose handler just ended.
	nc net.Conn
	// readBy is the mono() time by which the peer must have sent
	// something (a frame, a pong), or readOff or readFired. The reader
	// moves it (extendRead); the wheel fires it.
	readBy atomic.Int64
	// expires is the mono() time the token expires; 0: none.
	expires atomic.Int64
	// The fields below are guarded by wheel.mu, except nextPing, which
	// only the sweeping goroutine uses once the socket is filed.
	prev, next *conn
	at         int64 // the tick filed under
	filed      bool
	visiting   bool // taken out for a visit
	gone       bool // removed while visiting: not filed again
	nextPing   time.Duration
}

// newWheel returns a wheel whose tick is a sixteenth of the shortest of
// the ping interval and the connect timeout, between 1 ms and 250 ms: a
// ping, a timeout or an expiry acts at most one tick late.
func newWheel(ping, connect time.Duration, expire func(time.Duration)) *wheel {
	tick := min(ping, connect) / 16
	tick = max(time.Millisecond, min(tick, 250*time.Millisecond))
	// One turn spans the longest wait a socket is filed for, two ping
	// intervals or the connect timeout, so most sockets are visited only
	// when due; longer waits (a token's expiry) take extra turns.
	n := int64(max(2*ping, connect)/tick) + 2
	n = min(n, 1<<16)
	// Ticks before the wheel exists are not swept.
	return &wheel{tick: tick, ping: ping, slots: make([]*conn, n), expire: expire, swept: int64(mono() / tick)}
}

// run sweeps the wheel every tick until stop is closed.
func (w *wheel) run(stop <-chan struct{}) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.sweep(mono())
		}
	}
}

// add files a new socket: its first ping is due one ping interval from
// now, and it must send connect before readBy.
func (w *wheel) add(cn *conn, nc net.Conn, now, readBy time.Duration) {
	k := &cn.keep
	k.nc = nc
	k.readBy.Store(int64(readBy))
	w.mu.Lock()
	k.nextPing = now + w.ping
	w.fileLocked(cn, k.nextDue())
	w.mu.Unlock()
}

// remove takes a socket out of the wheel for good.
func (w *wheel) remove(cn *conn) {
	k := &cn.keep
	w.mu.Lock()
	if k.filed {
		w.unlinkLocked(cn)
	}
	k.gone = true
	w.mu.Unlock()
}

// advance makes sure a socket is visited by at: its token now expires
// sooner than it is filed for.
func (w *wheel) advance(cn *conn, at time.Duration) {
	k := &cn.keep
	w.mu.Lock()
	if k.filed && w.tickOf(at) < k.at {
		w.unlinkLocked(cn)
		w.fileLocked(cn, at)
	}
	// A socket being visited is filed afterwards by its fields, which
	// already hold at.
	w.mu.Unlock()
}

// sweep visits the sockets filed under the ticks up to now.
func (w *wheel) sweep(now time.Duration) {
	if w.expire != nil {
		w.expire(now)
	}
	target := int64(now / w.tick)
	w.mu.Lock()
	for w.swept < target {
		w.swept++
		slot := w.swept % int64(len(w.slots))
		for cn := w.slots[slot]; cn != nil; {
			next := cn.keep.next
			if cn.keep.at <= w.swept {
				w.unlinkLocked(cn)
				cn.keep.visiting = true
				w.due = append(w.due, cn)
			}
			cn = next
		}
	}
	due := w.due
	w.mu.Unlock()
	for _, cn := range due {
		cn.visit(now, w.ping)
	}
	w.mu.Lock()
	for _, cn := range due {
		k := &cn.keep
		k.visiting = false
		if !k.gone {
			w.fileLocked(cn, k.nextDue())
		}
	}
	clear(due)
	w.due = due[:0]
	w.mu.Unlock()
}

func (w *wheel) tickOf(at time.Duration) int64 {
	return int64((at + w.tick - 1) / w.tick) // rounded up: never early
}

func (w *wheel) fileLocked(cn *conn, at time.Duration) {
	k := &cn.keep
	if k.gone || k.visiting {
		return
	}
	t := max(w.tickOf(at), w.swept+1)
	slot := t % int64(len(w.slots))
	k.at, k.filed, k.prev = t, true, nil
	k.next = w.slots[slot]
	if k.next != nil {
		k.next.keep.prev = cn
	}
	w.slots[slot] = cn
}

func (w *wheel) unlinkLocked(cn *conn) {
	k := &cn.keep
	if k.prev != nil {
		k.prev.keep.next = k.next
	} else {
		w.slots[k.at%int64(len(w.slots))] = k.next
	}
	if k.next != nil {
		k.next.keep.prev = k.prev
	}
	k.prev, k.next, k.filed = nil, nil, false
}

// nextDue is when the socket must be visited next.
func (k *keepalive) nextDue() time.Duration {
	due := k.nextPing
	if r := time.Duration(k.readBy.Load()); r > 0 {
		due = min(due, r)
	}
	if e := time.Duration(k.expires.Load()); e > 0 {
		due = min(due, e)
	}
	return due
}

// extendRead moves the read deadline to by, unless the socket is closing
// or the wheel already ended its read (the reader then fails on its next
// read, as on a deadline of its own).
func (k *keepalive) extendRead(by time.Duration) bool {
	for {
		r := k.readBy.Load()
		if r <= 0 {
			return false
		}
		if k.readBy.CompareAndSwap(r, int64(by)) {
			return true
		}
	}
}

// aLongTimeAgo is a read deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

// visit does what is due of a socket at now: the session is closed with
// 4010 when its token has expired, the read ends when its deadline has
// passed, and a ping is asked for once per ping interval.
func (cn *conn) visit(now, ping time.Duration) {
	k := &cn.keep
	if e := k.expires.Load(); e > 0 && now >= time.Duration(e) && k.expires.CompareAndSwap(e, 0) {
		cn.sess.Close(wire.CloseTokenExpired, "token expired", true)
	}
	if r := k.readBy.Load(); r > 0 && now >= time.Duration(r) {
		// Under lingerMu, as the closing handshake sets its own read
		// deadline (readOff): whichever comes last stands.
		cn.lingerMu.Lock()
		if k.readBy.CompareAndSwap(r, readFired) {
			_ = k.nc.SetReadDeadline(aLongTimeAgo)
		}
		cn.lingerMu.Unlock()
	}
	if now >= k.nextPing {
		cn.sess.Ping()
		k.nextPing = now + ping
	}
}

// startKeepalive runs the wheel until the returned function is called.
func (s *Server) startKeepalive() (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		s.keep.run(done)
	}()
	return func() {
		close(done)
		<-ended
	}
}

// expireAdmissions gives back the places of upgrades that no socket
// claimed within the connect timeout (writing the 101 failed, so the
// socket's handler never ran).
func (s *Server) expireAdmissions(now time.Duration) {
	var expired []*admission
	s.addrMu.Lock()
	for nc, a := range s.admitted {
		if now >= a.expires {
			delete(s.admitted, nc)
			expired = append(expired, a)
		}
	}
	s.addrMu.Unlock()
	for _, a := range expired {
		if a.claimed.CompareAndSwap(false, true) {
			a.release()
		}
	}
}
