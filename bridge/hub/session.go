package hub

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// Frame is one unit of work for a session's writer: a text frame, a ping,
// a pong (Data is its payload), or the final close frame.
type Frame struct {
	Data   []byte
	Ping   bool
	Pong   bool
	Close  bool
	Code   int
	Reason string
}

// SubOptions are the options of a subscription.
type SubOptions struct {
	Mode      string  // wire.ModeStream (default) or wire.ModeLatest
	MaxRateHz float64 // latest mode: at most this many messages per device per second
}

// Sub is one session's subscription to one channel.
type Sub struct {
	channel  string
	latest   bool
	interval time.Duration
	// delivered is the offset of the last publication handed to the
	// writer; a lagged notification reports it.
	delivered uint64
	lastSent  map[string]time.Time // latest mode with a rate cap: per device
	removed   bool
	// lagQueued: a lagged notice for this subscription is queued and not
	// yet handed to the writer, so a further overflow only extends the gap
	// it already announces.
	lagQueued bool

	// recovering: Session.Recover has not run yet; live publications wait
	// in held (at most Config.MaxRecoveryBuffer; heldLost past that).
	recovering bool
	held       []*state.Publication
	heldLost   bool
	// epoch and last are the epoch and offset of the newest publication
	// queued for this subscription (or of its subscribe result), so that a
	// live publication that does not follow it is seen as a gap or a
	// duplicate.
	epoch string
	last  uint64
}

// Channel is the subscribed channel.
func (s *Sub) Channel() string { return s.channel }

type item struct {
	frame []byte
	// reply: the frame counts in Session.replyBytes (responses, notices
	// and recovered publications, which QueueSize does not bound).
	reply  bool
	sub    *Sub // set for publications; nil for responses and notices
	offset uint64
	forced bool // recovered publications do not count against the bound
	lagOf  *Sub // set on a lagged notice: the subscription it is about
}

type pendKey struct {
	sub    *Sub
	device string
}

// pending is a latest-mode slot: the newest publication of one device,
// with every earlier one still waiting merged into it.
type pending struct {
	pub    *state.Publication
	merged *mergedReading
	count  int
}

// Session is one connected dashboard client as the hub sees it.
type Session struct {
	ID          string
	User        string
	Tenant      string
	Node        string
	ConnectedAt time.Time
	// TokenID is the jti of the session's token (set at connect and
	// refresh, read by revocation); guarded by mu.
	tokenID string

	cfg  *Config
	wake chan struct{}
	// waker, when set, is called after every wake-up (see SetWaker).
	waker func(urgent bool)

	mu    sync.Mutex
	queue []item
	npub  int
	// replyBytes is the size of the queued items marked reply, bounded by
	// Config.MaxQueuedReplyBytes.
	replyBytes int
	pend       map[pendKey]*pending
	order      []pendKey
	subs       map[string]*Sub
	lagSince   time.Time
	// overflowed: a stream queue overflowed since the writer last took
	// the queue. A drain with no overflow since the previous one means the
	// writer caught up, which ends a slow-consumer episode.
	overflowed bool
	closing    bool
	code       int // the close code of the first Close
	// signaled: a wake-up was sent (or is being sent) since the writer
	// last took the queue (see unlockWake).
	signaled bool
	// signaledUrgent: the wake-up sent since then was urgent (see
	// SetWaker).
	signaledUrgent bool
	// pong is the payload of the pong the writer owes the peer (RFC 6455
	// §5.5.3: answering the most recent ping is enough); hasPong says
	// one is owed.
	pong    []byte
	hasPong bool
	// hasPing: the writer owes the peer a keep-alive ping (see Ping).
	hasPing bool

	timer *time.Timer // NextBefore's, owned by the writer goroutine
}

// NewSession returns a session bound to h's configuration. It is not
// registered until Hub.Add.
func (h *Hub) NewSession(id, user, tenant, node string) *Session {
	return &Session{
		ID: id, User: user, Tenant: tenant, Node: node, ConnectedAt: time.Now().UTC(),
		cfg:  &h.cfg,
		wake: make(chan struct{}, 1),
		subs: make(map[string]*Sub),
	}
}

// unlockWake releases mu and wakes the writer, unless a wake-up is already
// on its way: the writer clears signaled when it takes the queue, so a
// burst of deliveries to a session whose writer is busy costs one channel
// operation in all, not one each. urgent says the new work is not a
// publication (a reply, a pong or ping, the close): an urgent wake-up
// still goes out when only a publication's was sent.
func (s *Session) unlockWake(urgent bool) {
	send := !s.signaled || (urgent && !s.signaledUrgent)
	s.signaled = true
	s.signaledUrgent = s.signaledUrgent || urgent
	s.mu.Unlock()
	if send {
		s.signal(urgent)
	}
}

func (s *Session) signal(urgent bool) {
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if s.waker != nil {
		s.waker(urgent)
	}
}

// UrgentPending reports whether an urgent wake-up (see SetWaker) was sent
// since the writer last took the queue. A writer about to hold back checks
// it after saying so, or an urgent wake-up sent just before could wait for
// the whole hold.
func (s *Session) UrgentPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signaledUrgent
}

// SetWaker has fn called whenever the session gets something for its
// writer, after the wake-up a waiting writer receives, so that a caller
// can run a writer only while there is work (package ws starts one when
// none runs) instead of keeping one parked per idle socket. urgent is
// false when the work is publications (and lagged notices) only, which a
// writer may hold back briefly to write several at once; anything else
// (replies, pings, pongs, the close), and a stream queue half full, should
// go out at once. It must be
// set before the session is used; fn must not block.
func (s *Session) SetWaker(fn func(urgent bool)) { s.waker = fn }

// Pending reports whether anything waits for the writer: frames, latest-
// mode slots (due or not) or a pong. A writer that stops must check it
// after it has said so (see SetWaker), or a wake-up can fall between.
func (s *Session) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0 || len(s.order) > 0 || s.hasPong || s.hasPing
}

// Rearm is Pending for a writer that is about to end, after it has said
// so (see SetWaker): when nothing waits, it also forgets the wake-ups sent
// since the writer last took the queue, so that the next work wakes a
// writer again. A wake-up can come with nothing to write (Recover with
// neither publications nor a result, a Ping on a closing session) while
// a writer runs; its flag then outlived the writer, and every delivery
// after it, seeing a wake-up already on its way, woke nobody: a socket
// never got another publication (issue 10, found with the writer pool,
// which ends a writer without a last Take).
func (s *Session) Rearm() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 || len(s.order) > 0 || s.hasPong || s.hasPing {
		return true
	}
	s.signaled, s.signaledUrgent = false, false
	return false
}

// Channels returns the channels the session subscribes to.
func (s *Session) Channels() []string { return s.channels() }

func (s *Session) channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subs))
	for ch := range s.subs {
		out = append(out, ch)
	}
	return out
}

// SetTokenID records the jti of the session's current token.
func (s *Session) SetTokenID(jti string) {
	s.mu.Lock()
	s.tokenID = jti
	s.mu.Unlock()
}

// TokenID is the jti of the session's current token.
func (s *Session) TokenID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenID
}

// Subscribed reports whether the session subscribes to channel.
func (s *Session) Subscribed(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[channel]
	return ok
}

// NumSubs is the number of subscriptions.
func (s *Session) NumSubs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func (s *Session) subscribe(channel string, opts SubOptions, old *Sub) *Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old != nil {
		s.dropLocked(old)
	}
	sub := &Sub{channel: channel, latest: opts.Mode == wire.ModeLatest, recovering: true}
	if sub.latest && opts.MaxRateHz > 0 {
		sub.interval = time.Duration(float64(time.Second) / opts.MaxRateHz)
		sub.lastSent = make(map[string]time.Time)
	}
	s.subs[channel] = sub
	return sub
}

func (s *Session) unsubscribe(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[channel]; sub != nil {
		s.dropLocked(sub)
		delete(s.subs, channel)
	}
}

// dropLocked removes everything still waiting for sub, so that a re-sync or
// an unsubscribe never lets an old frame of the channel through afterwards.
func (s *Session) dropLocked(sub *Sub) {
	sub.removed = true
	sub.lagQueued = false
	kept := s.queue[:0]
	for _, it := range s.queue {
		if it.lagOf == sub || it.sub == sub {
			s.unqueueLocked(it)
			continue
		}
		kept = append(kept, it)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	if len(s.pend) > 0 {
		order := s.order[:0]
		for _, k := range s.order {
			if k.sub == sub {
				delete(s.pend, k)
				continue
			}
			order = append(order, k)
		}
		s.order = order
	}
}

// unqueueLocked accounts for an item taken out of the queue other than by
// the writer.
func (s *Session) unqueueLocked(it item) {
	if it.reply {
		s.replyBytes -= len(it.frame)
	}
	if it.sub != nil && !it.forced {
		s.npub--
	}
}

// Send queues a response or notification frame. Requests are rate limited,
// and the bytes waiting are bounded by Config.MaxQueuedReplyBytes: past
// it the session is closed with 4009 (see admitReplyLocked).
func (s *Session) Send(frame []byte) {
	s.mu.Lock()
	if !s.closing && s.admitReplyLocked(len(frame)) {
		s.queue = append(s.queue, item{frame: frame, reply: true})
		s.replyBytes += len(frame)
	}
	s.unlockWake(true)
}

// admitReplyLocked reports whether n more reply bytes fit; when they do
// not, it closes the session with 4009 (PROTOCOL.md: "a client that stays
// too slow is closed with 4009") and frees everything queued, replies
// included: a client that does not read them would only keep the node's
// memory. A single reply larger than the bound is admitted when no other
// reply waits, so that a big tenant's snapshot is not refused outright;
// the session then holds at most the bound plus that one reply.
func (s *Session) admitReplyLocked(n int) bool {
	if s.replyBytes == 0 || s.replyBytes+n <= s.cfg.MaxQueuedReplyBytes {
		return true
	}
	if m := s.cfg.Metrics; m != nil {
		m.SlowConsumers.Inc()
	}
	clear(s.queue)
	s.queue = s.queue[:0]
	s.replyBytes = 0
	s.closeLocked(wire.CloseTooSlow, "client too slow: replies not read", true)
	return false
}

// QueuedReplyBytes is the size of the responses, notices and recovered
// publications waiting for the writer (bounded by
// Config.MaxQueuedReplyBytes, plus one oversized reply).
func (s *Session) QueuedReplyBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replyBytes
}

// deliver queues a live publication for sub.
func (s *Session) deliver(sub *Sub, p *state.Publication) {
	s.mu.Lock()
	if s.closing || sub.removed {
		s.mu.Unlock()
		return
	}
	if sub.recovering {
		if len(sub.held) < s.cfg.MaxRecoveryBuffer {
			sub.held = append(sub.held, p)
		} else {
			sub.heldLost = true
		}
		s.mu.Unlock()
		return
	}
	s.liveLocked(sub, p)
	// A stream queue half full is urgent: a writer held back to batch
	// (SetWaker) must not let a reader that keeps up look slow and be
	// closed with 4009 for the batching's sake.
	s.unlockWake(s.closing || s.npub*2 >= s.cfg.QueueSize)
}

// liveLocked queues a live publication after checking that it follows the
// last one queued: a duplicate (an offset already queued) is dropped, and a
// gap or a new epoch (history lost upstream) gets a lagged notice, so the
// client re-syncs instead of drawing a line across the gap.
func (s *Session) liveLocked(sub *Sub, p *state.Publication) {
	switch {
	case p.Epoch == sub.epoch && p.Offset <= sub.last:
		return
	case sub.epoch != "" && (p.Epoch != sub.epoch || p.Offset > sub.last+1):
		s.lagLocked(sub, sub.last)
	}
	sub.epoch, sub.last = p.Epoch, p.Offset
	if sub.latest {
		s.conflateLocked(sub, p)
	} else if s.npub >= s.cfg.QueueSize {
		s.overflowLocked(sub, p)
	} else {
		s.queue = append(s.queue, item{frame: p.Frame, sub: sub, offset: p.Offset})
		s.npub++
	}
}

// Recover ends sub's recovery (PROTOCOL.md "Subscribe, recovery and
// snapshot"): it queues the recovered publications, then the subscribe
// result, then the live publications held since Hub.Subscribe that come
// after pos (the channel's position when the store was read), merged by
// offset so that nothing is delivered twice and nothing is skipped. From
// then on sub is live.
func (s *Session) Recover(sub *Sub, recovered []*state.Publication, pos wire.StreamPosition, result []byte) {
	s.mu.Lock()
	if s.closing || sub.removed {
		s.mu.Unlock()
		return
	}
	n := len(result)
	for _, p := range recovered {
		n += len(p.Frame)
	}
	if !s.admitReplyLocked(n) {
		s.unlockWake(true)
		return
	}
	s.replyBytes += n
	for _, p := range recovered {
		s.queue = append(s.queue, item{frame: p.Frame, sub: sub, offset: p.Offset, forced: true, reply: true})
	}
	if result != nil {
		s.queue = append(s.queue, item{frame: result, reply: true})
	}
	// An empty epoch (a position the caller does not know) lets the first
	// live publication set the baseline.
	sub.epoch, sub.last = pos.Epoch, pos.Offset
	if n := len(recovered); n > 0 && recovered[n-1].Offset > sub.last {
		sub.last = recovered[n-1].Offset
	}
	sub.delivered = sub.last
	held, lost := sub.held, sub.heldLost
	sub.recovering, sub.held, sub.heldLost = false, nil, false
	for _, p := range held {
		s.liveLocked(sub, p)
	}
	if lost {
		s.lagLocked(sub, sub.last)
	}
	s.unlockWake(true)
}

// lost answers Hub.Lost for one subscription.
func (s *Session) lost(sub *Sub) {
	s.mu.Lock()
	if !s.closing && !sub.removed {
		if sub.recovering {
			sub.heldLost = true
		} else {
			s.lagLocked(sub, sub.last)
		}
	}
	s.unlockWake(false)
}

// lagLocked queues a lagged notice for sub saying that offset is the last
// publication before a gap, unless one is already waiting.
func (s *Session) lagLocked(sub *Sub, offset uint64) {
	if sub.lagQueued {
		return
	}
	frame, _ := json.Marshal(wire.Notification{JSONRPC: "2.0", Method: wire.MethodLagged,
		Params: wire.LaggedParams{Channel: sub.channel, Offset: offset}})
	s.queue = append(s.queue, item{frame: frame, lagOf: sub, reply: true})
	s.replyBytes += len(frame)
	sub.lagQueued = true
	if m := s.cfg.Metrics; m != nil {
		m.Lagged.Inc()
	}
}

func (s *Session) conflateLocked(sub *Sub, p *state.Publication) {
	k := pendKey{sub: sub}
	if p.Reading != nil {
		k.device = p.Reading.Device
	}
	pe := s.pend[k]
	if pe == nil {
		if s.pend == nil {
			s.pend = make(map[pendKey]*pending) // only latest-mode sessions need it
		}
		s.pend[k] = &pending{pub: p, count: 1}
		s.order = append(s.order, k)
		return
	}
	if p.Reading != nil {
		if pe.merged == nil {
			pe.merged = newMerged(pe.pub.Reading)
		}
		pe.merged.add(p.Reading)
	}
	pe.pub = p
	pe.count++
	if m := s.cfg.Metrics; m != nil {
		m.Conflated.Inc()
	}
}

// overflowLocked handles a full stream queue (PROTOCOL.md "mode stream"):
// drop what is pending for the channel, tell the client where the gap
// starts, and close the session when it has been behind for too long.
func (s *Session) overflowLocked(sub *Sub, p *state.Publication) {
	gap := p.Offset // the first publication the client will not get
	kept := s.queue[:0]
	for _, it := range s.queue {
		if it.sub == sub && !it.forced {
			s.unqueueLocked(it)
			gap = min(gap, it.offset)
			continue
		}
		kept = append(kept, it)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.overflowed = true
	m := s.cfg.Metrics
	// A channel's publications reach a subscription with consecutive
	// offsets, so the client has (or gets from the queue ahead of the
	// notice, like recovered publications) everything before the first
	// dropped one, even when the writer has not run since the subscribe
	// result.
	last := sub.delivered
	if gap > 0 {
		last = max(last, gap-1)
	}
	s.lagLocked(sub, last)
	now := time.Now()
	if s.lagSince.IsZero() {
		s.lagSince = now
		return
	}
	if now.Sub(s.lagSince) > s.cfg.SlowConsumerTimeout {
		if m != nil {
			m.SlowConsumers.Inc()
		}
		s.closeLocked(wire.CloseTooSlow, "client too slow", true)
	}
}

// Close ends the session: everything still queued is dropped, and the
// writer sends an optional disconnect notification and then the close frame.
// Only the first call has an effect.
func (s *Session) Close(code int, reason string, notify bool) {
	s.mu.Lock()
	s.closeLocked(code, reason, notify)
	s.unlockWake(true)
}

func (s *Session) closeLocked(code int, reason string, notify bool) {
	if s.closing {
		return
	}
	s.closing, s.code = true, code
	// Publications still queued are dropped; responses already queued
	// (such as the error that explains this close) still go out first.
	kept := s.queue[:0]
	for _, it := range s.queue {
		if it.sub == nil {
			kept = append(kept, it)
		} else {
			s.unqueueLocked(it)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.npub = 0
	clear(s.pend)
	s.order = nil
	if notify {
		frame, _ := json.Marshal(wire.Notification{JSONRPC: "2.0", Method: wire.MethodDisconnect,
			Params: wire.DisconnectParams{Code: code, Reason: reason, Reconnect: Reconnectable(code)}})
		s.queue = append(s.queue, item{frame: frame})
	}
	s.queue = append(s.queue, item{frame: closeMarker(code, reason)})
}

// CloseCode returns the code the session was closed with, and whether
// Close was called.
func (s *Session) CloseCode() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.closing
}

// Closing reports whether Close was called.
func (s *Session) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Reconnectable says whether a client should reconnect after close code
// (PROTOCOL.md "Errors and close codes").
func Reconnectable(code int) bool {
	switch code {
	case wire.CloseUnauthorized, wire.CloseSignedOut, wire.ClosePolicy, wire.CloseTooBig:
		return false
	}
	return true
}

// closeMarker encodes a close request as an item frame that cannot be a
// JSON text frame (it starts with a NUL byte), so one queue keeps order.
func closeMarker(code int, reason string) []byte {
	b := []byte{0, byte(code >> 8), byte(code)}
	return append(b, reason...)
}

// Pong asks the writer to answer a ping with data, so that every write to
// the socket, control frames included, stays in the one writer goroutine.
// Only the newest unanswered ping is answered. The session keeps data.
func (s *Session) Pong(data []byte) {
	s.mu.Lock()
	s.pong, s.hasPong = data, true
	s.unlockWake(true)
}

// Ping asks the writer for a keep-alive ping. It goes through the session
// like every other frame, so that a writer waiting for work (Take, Next)
// is woken for it and no timer of the writer's own is needed. A closing
// session sends none.
func (s *Session) Ping() {
	s.mu.Lock()
	if !s.closing {
		s.hasPing = true
	}
	s.unlockWake(true)
}

// ErrIdle is returned by NextBefore when its deadline passes with nothing
// to write, and by Take when there is nothing to write.
var ErrIdle = errors.New("hub: session idle")

// ErrNotDue is returned by TakeNow when nothing can be written now but
// latest-mode slots wait for their rate cap: a writer that must not block
// hands the session to one that may (Take waits for the first slot).
var ErrNotDue = errors.New("hub: latest-mode slots not due yet")

// TakeNow is Take that never blocks, for a writer that serves many
// sessions in turn (package ws's writer pool): it appends what can be
// written now to dst, or returns ErrIdle when nothing waits at all and
// ErrNotDue when only rate-capped latest-mode slots wait.
func (s *Session) TakeNow(dst []Frame) ([]Frame, error) {
	return s.next(context.Background(), dst, time.Time{}, takeNow)
}

// Take is the writer's non-blocking Next: it appends what can be written
// now to dst, or returns ErrIdle when nothing waits at all. Only while
// latest-mode slots wait for their rate cap does it block, until the first
// is due or something else arrives, so that a writer that ends when Take
// is idle never leaves a slot behind. It returns ctx.Err() when ctx ends.
// A writer goroutine that runs only while there is work (package ws) calls
// it instead of NextBefore: a drain then costs no clock read, timer or
// select (issue 10: per-delivery overhead beside the write itself).
func (s *Session) Take(ctx context.Context, dst []Frame) ([]Frame, error) {
	return s.next(ctx, dst, time.Time{}, takeWait)
}

// Next blocks until there is something to write and appends it to dst. It
// returns ctx.Err() when ctx ends. After a Close frame the session has
// nothing more to write.
func (s *Session) Next(ctx context.Context, dst []Frame) ([]Frame, error) {
	return s.NextBefore(ctx, dst, time.Time{})
}

// NextBefore is Next that gives up at deadline (zero: never) with ErrIdle.
// It must only be called by the session's one writer goroutine, which owns
// the timer it reuses, so waiting costs no allocation per wake-up.
func (s *Session) NextBefore(ctx context.Context, dst []Frame, deadline time.Time) ([]Frame, error) {
	return s.next(ctx, dst, deadline, takeNot)
}

// How next waits: not at all (TakeNow), only for rate-capped slots
// (Take), or until there is work or the deadline passes (NextBefore).
const (
	takeNot = iota
	takeWait
	takeNow
)

// next is NextBefore, or Take or TakeNow (deadline is then unused).
func (s *Session) next(ctx context.Context, dst []Frame, deadline time.Time, take int) ([]Frame, error) {
	for {
		s.mu.Lock()
		s.signaled, s.signaledUrgent = false, false
		depth := len(s.queue) + len(s.order)
		if s.hasPing {
			dst = append(dst, Frame{Ping: true})
			s.hasPing = false
		}
		if s.hasPong {
			dst = append(dst, Frame{Pong: true, Data: s.pong})
			s.pong, s.hasPong = nil, false
		}
		for _, it := range s.queue {
			if len(it.frame) > 0 && it.frame[0] == 0 {
				code := int(it.frame[1])<<8 | int(it.frame[2])
				dst = append(dst, Frame{Close: true, Code: code, Reason: string(it.frame[3:])})
				break
			}
			if it.sub != nil && it.offset > it.sub.delivered {
				it.sub.delivered = it.offset
			}
			if it.lagOf != nil {
				it.lagOf.lagQueued = false
			}
			dst = append(dst, Frame{Data: it.frame})
		}
		clear(s.queue)
		s.queue = s.queue[:0]
		s.npub = 0
		s.replyBytes = 0
		wait := s.drainPendingLocked(&dst)
		if !s.overflowed {
			// Caught up: nothing overflowed since the writer last took
			// the queue.
			s.lagSince = time.Time{}
		}
		s.overflowed = false
		s.mu.Unlock()
		if len(dst) > 0 {
			if m := s.cfg.Metrics; m != nil {
				m.QueueDepth.Observe(float64(depth))
			}
			return dst, nil
		}
		if take != takeNot && wait == 0 {
			s.dropTimer() // an idle session keeps no timer
			return dst, ErrIdle
		}
		if take == takeNow {
			return dst, ErrNotDue
		}
		if take == takeNot && !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				s.dropTimer()
				return dst, ErrIdle
			}
			if wait == 0 || left < wait {
				wait = left
			}
		}
		var tc <-chan time.Time
		if wait > 0 {
			if s.timer == nil {
				s.timer = time.NewTimer(wait)
			} else {
				s.timer.Reset(wait) // Go ≥1.23: Reset needs no drain
			}
			tc = s.timer.C
		}
		select {
		case <-ctx.Done():
			return dst, ctx.Err()
		case <-s.wake:
		case <-tc:
		}
	}
}

// dropTimer stops and forgets the writer's wait timer, so that an idle
// session keeps none (writer-owned, like the timer).
func (s *Session) dropTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// drainPendingLocked moves due latest-mode slots to dst and returns how long
// until the next one is due (0 when none is waiting).
func (s *Session) drainPendingLocked(dst *[]Frame) time.Duration {
	if len(s.order) == 0 {
		return 0
	}
	now := time.Now()
	var wait time.Duration
	order := s.order[:0]
	for _, k := range s.order {
		pe := s.pend[k]
		if k.sub.interval > 0 {
			if next := k.sub.lastSent[k.device].Add(k.sub.interval); now.Before(next) {
				if d := next.Sub(now); wait == 0 || d < wait {
					wait = d
				}
				order = append(order, k)
				continue
			}
			k.sub.lastSent[k.device] = now
		}
		delete(s.pend, k)
		if pe.pub.Offset > k.sub.delivered {
			k.sub.delivered = pe.pub.Offset
		}
		*dst = append(*dst, Frame{Data: pe.frame()})
	}
	clear(s.order[len(order):])
	s.order = order
	return wait
}

func (pe *pending) frame() []byte {
	if pe.count <= 1 {
		return pe.pub.Frame
	}
	pub := pe.pub.Publication
	pub.Conflated = pe.count
	if pe.merged != nil {
		if data, err := json.Marshal(pe.merged.reading()); err == nil {
			pub.Data = data
		}
	}
	return wire.AppendMessage(nil, &pub)
}
