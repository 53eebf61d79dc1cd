package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"runtime"
	"sync"
	"time"

	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// ErrTenantFull is returned by Add when a tenant has its maximum number of
// sessions on this node.
var ErrTenantFull = errors.New("hub: tenant connection limit reached")

// Config tunes the hub.
type Config struct {
	// QueueSize bounds the stream-mode frames waiting per session; default 256.
	QueueSize int
	// SlowConsumerTimeout: a session whose stream queue keeps overflowing
	// for longer than this is closed with 4009; default 10s.
	SlowConsumerTimeout time.Duration
	// MaxPerTenant bounds sessions per tenant on this node; 0 = unlimited.
	MaxPerTenant int
	// MaxRecoveryBuffer bounds the live publications one subscription
	// holds while it recovers from the store; past it the subscription
	// gets a lagged notice after its result. Default 4 × QueueSize.
	MaxRecoveryBuffer int
	// MaxQueuedReplyBytes bounds the bytes of responses, notices and
	// recovered publications waiting for a session's writer (publications
	// are bounded by QueueSize instead). Past it the session is closed
	// with 4009 and what it had queued is freed. One reply larger than
	// the bound on its own is still queued when nothing else waits, so a
	// tenant whose devices snapshot outgrows it can still subscribe.
	// Default DefaultMaxQueuedReplyBytes.
	MaxQueuedReplyBytes int
	// Upstream is told when this node's first session subscribes a
	// channel and after its last one leaves (the fan-out); nil: none.
	Upstream Upstream
	Metrics  *metrics.Metrics
}

// Upstream is the node-level subscription of a channel: the fan-out.
type Upstream interface {
	Subscribe(ctx context.Context, tenant, channel string) error
	Unsubscribe(ctx context.Context, tenant, channel string) error
}

// DefaultMaxQueuedReplyBytes is 4 MiB. A client that reads keeps the
// figure near zero (the writer takes the whole queue at each wake), so the
// bound only has to cover what one burst of requests legitimately waits
// for: 4 MiB is about 16 devices snapshots of a 1,000-device tenant
// (~250 B a Reading) or 4 full history pages of 1 KiB publications. A
// stalled session then holds at most this plus its writer's batch, where
// issue 11 saw one client grow a node by 700 MiB in 30 s.
const DefaultMaxQueuedReplyBytes = 4 << 20

type chanKey struct{ tenant, channel string }

// subEntry is one local subscription of a channel.
type subEntry struct {
	s   *Session
	sub *Sub
}

// channelSubs are a channel's local subscriptions: a slice, so that a
// delivery can split it into contiguous shards for several goroutines, and
// an index into it for subscribe and unsubscribe (swap-remove).
type channelSubs struct {
	list []subEntry
	idx  map[*Session]int
}

func (c *channelSubs) len() int {
	if c == nil {
		return 0
	}
	return len(c.list)
}

// shardMin is the fewest subscribers one delivery goroutine takes: a
// hand-off to another goroutine costs about as much as queueing to a few
// hundred sessions, so smaller channels (W2's 5 per channel) are delivered
// inline and only big ones (W1's 5,000) use every core.
const shardMin = 256

// forShards calls fn on contiguous parts of list, in parallel on up to
// GOMAXPROCS goroutines (the caller's among them), and returns when every
// part is done. Each session is in exactly one part and the caller
// delivers one publication at a time, so a session still sees a channel's
// publications in order.
func forShards(list []subEntry, fn func([]subEntry)) {
	n := min(runtime.GOMAXPROCS(0), len(list)/shardMin)
	if n <= 1 {
		fn(list)
		return
	}
	size := (len(list) + n - 1) / n
	var wg sync.WaitGroup
	for i := size; i < len(list); i += size {
		wg.Add(1)
		go func(part []subEntry) {
			defer wg.Done()
			fn(part)
		}(list[i:min(i+size, len(list))])
	}
	fn(list[:size])
	wg.Wait()
}

// Hub knows which local sessions subscribe to which channels.
type Hub struct {
	cfg Config
	mu  sync.RWMutex
	// subs maps a channel to its subscribers. Readers take mu.RLock, so
	// deliveries to different channels run in parallel, and one big
	// channel's delivery is split across cores (forShards).
	subs     map[chanKey]*channelSubs
	sessions map[*Session]struct{}
	perTen   map[string]int

	// stripes serialise, per channel, the change of its local subscriber
	// count together with the upstream (un)subscribe it implies, without
	// holding mu across a network call. Lock order: stripe, then mu.
	stripes [64]sync.Mutex
	seed    maphash.Seed
}

// New returns an empty hub.
func New(cfg Config) *Hub {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.SlowConsumerTimeout <= 0 {
		cfg.SlowConsumerTimeout = 10 * time.Second
	}
	if cfg.MaxRecoveryBuffer <= 0 {
		cfg.MaxRecoveryBuffer = 4 * cfg.QueueSize
	}
	if cfg.MaxQueuedReplyBytes <= 0 {
		cfg.MaxQueuedReplyBytes = DefaultMaxQueuedReplyBytes
	}
	return &Hub{
		seed:     maphash.MakeSeed(),
		cfg:      cfg,
		subs:     make(map[chanKey]*channelSubs),
		sessions: make(map[*Session]struct{}),
		perTen:   make(map[string]int),
	}
}

// SetUpstream sets the fan-out the hub subscribes channels through. It must
// be called before the first Subscribe (a cluster node sets it once Valkey
// is reachable, before it accepts clients).
func (h *Hub) SetUpstream(u Upstream) { h.cfg.Upstream = u }

// Add registers a connected session.
func (h *Hub) Add(s *Session) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cfg.MaxPerTenant > 0 && h.perTen[s.Tenant] >= h.cfg.MaxPerTenant {
		return ErrTenantFull
	}
	h.sessions[s] = struct{}{}
	h.perTen[s.Tenant]++
	if m := h.cfg.Metrics; m != nil {
		m.Connections.WithLabelValues(s.Tenant).Inc()
	}
	return nil
}

func (h *Hub) stripe(k chanKey) *sync.Mutex {
	var mh maphash.Hash
	mh.SetSeed(h.seed)
	_, _ = mh.WriteString(k.tenant)
	_ = mh.WriteByte(0)
	_, _ = mh.WriteString(k.channel)
	return &h.stripes[mh.Sum64()%uint64(len(h.stripes))]
}

// Remove forgets a session and all its subscriptions, unsubscribing
// upstream every channel it was the last local subscriber of.
func (h *Hub) Remove(s *Session) {
	h.mu.Lock()
	if _, ok := h.sessions[s]; !ok {
		h.mu.Unlock()
		return
	}
	delete(h.sessions, s)
	h.perTen[s.Tenant]--
	if h.perTen[s.Tenant] == 0 {
		delete(h.perTen, s.Tenant)
	}
	if m := h.cfg.Metrics; m != nil {
		m.Connections.WithLabelValues(s.Tenant).Dec()
	}
	h.mu.Unlock()
	for _, ch := range s.channels() {
		h.Unsubscribe(s, ch)
	}
}

// Subscribe adds (or re-syncs) a subscription and returns it. When s is the
// first local subscriber of the channel, the channel is subscribed upstream
// first; if that fails nothing changes and the error is returned.
//
// The returned Sub is recovering: live publications are held in it until
// Session.Recover delivers the recovered ones and the result, then the held
// ones after them (see doc.go, "Recovery").
func (h *Hub) Subscribe(ctx context.Context, s *Session, channel string, opts SubOptions) (*Sub, error) {
	k := chanKey{s.Tenant, channel}
	lk := h.stripe(k)
	lk.Lock()
	defer lk.Unlock()
	h.mu.RLock()
	first := h.subs[k].len() == 0
	_, registered := h.sessions[s]
	h.mu.RUnlock()
	if !registered {
		return nil, ErrNotRegistered
	}
	if first && h.cfg.Upstream != nil {
		if err := h.cfg.Upstream.Subscribe(ctx, s.Tenant, channel); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	cs := h.subs[k]
	if cs == nil {
		cs = &channelSubs{idx: make(map[*Session]int)}
		h.subs[k] = cs
	}
	i, existed := cs.idx[s]
	var old *Sub
	if existed {
		old = cs.list[i].sub
	}
	sub := s.subscribe(channel, opts, old)
	if existed {
		cs.list[i].sub = sub
	} else {
		cs.idx[s] = len(cs.list)
		cs.list = append(cs.list, subEntry{s, sub})
	}
	h.mu.Unlock()
	if !existed {
		if met := h.cfg.Metrics; met != nil {
			met.Subscriptions.WithLabelValues(s.Tenant).Inc()
		}
	}
	return sub, nil
}

// ErrNotRegistered is returned by Subscribe for a session that was removed
// (or never added).
var ErrNotRegistered = errors.New("hub: session not registered")

// Unsubscribe removes a subscription; it reports whether it existed. After
// the channel's last local subscriber leaves, the channel is unsubscribed
// upstream (a failure there is not the client's: the node only receives a
// channel it no longer delivers).
func (h *Hub) Unsubscribe(s *Session, channel string) bool {
	k := chanKey{s.Tenant, channel}
	lk := h.stripe(k)
	lk.Lock()
	defer lk.Unlock()
	h.mu.Lock()
	cs := h.subs[k]
	if cs == nil {
		h.mu.Unlock()
		return false
	}
	i, ok := cs.idx[s]
	if !ok {
		h.mu.Unlock()
		return false
	}
	n := len(cs.list) - 1
	if i != n {
		cs.list[i] = cs.list[n]
		cs.idx[cs.list[i].s] = i
	}
	cs.list[n] = subEntry{}
	cs.list = cs.list[:n]
	delete(cs.idx, s)
	last := n == 0
	if last {
		delete(h.subs, k)
	}
	h.mu.Unlock()
	s.unsubscribe(channel)
	if met := h.cfg.Metrics; met != nil {
		met.Subscriptions.WithLabelValues(s.Tenant).Dec()
	}
	if last && h.cfg.Upstream != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.cfg.Upstream.Unsubscribe(ctx, s.Tenant, channel)
		cancel()
	}
	return true
}

// HasSubscribers reports whether any local session subscribes to channel.
// Ingest uses it to skip building monitor events no one watches.
func (h *Hub) HasSubscribers(tenant, channel string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.subs[chanKey{tenant, channel}].len() > 0
}

// Deliver hands p to every local subscriber of its channel, on several
// cores when the channel has many, and returns once every subscriber has
// it queued. It never blocks on a client: it only appends to queues and
// wakes writers. It is the hub's side of fanout.Handler.
func (h *Hub) Deliver(tenant string, p *state.Publication) {
	start := time.Now()
	h.mu.RLock()
	if cs := h.subs[chanKey{tenant, p.Channel}]; cs != nil {
		forShards(cs.list, func(part []subEntry) {
			for _, e := range part {
				e.s.deliver(e.sub, p)
			}
		})
	}
	h.mu.RUnlock()
	if m := h.cfg.Metrics; m != nil {
		m.FanoutTime.Observe(time.Since(start).Seconds())
	}
}

// Lost tells every local subscriber of the channel that publications may
// have been missed upstream: each gets a lagged notice and re-syncs with
// since, as after an overflow. It is the other half of fanout.Handler.
func (h *Hub) Lost(tenant, channel string) {
	h.mu.RLock()
	if cs := h.subs[chanKey{tenant, channel}]; cs != nil {
		for _, e := range cs.list {
			e.s.lost(e.sub)
		}
	}
	h.mu.RUnlock()
}

// Presence lists the sessions subscribed to a channel on this node.
func (h *Hub) Presence(tenant, channel string) []wire.PresenceClient {
	h.mu.RLock()
	defer h.mu.RUnlock()
	cs := h.subs[chanKey{tenant, channel}]
	if cs == nil {
		return []wire.PresenceClient{}
	}
	out := make([]wire.PresenceClient, 0, len(cs.list))
	for _, e := range cs.list {
		s := e.s
		out = append(out, wire.PresenceClient{User: s.User, Session: s.ID, Node: s.Node, ConnectedAt: s.ConnectedAt})
	}
	return out
}

// Sessions returns every registered session.
func (h *Hub) Sessions() []*Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		out = append(out, s)
	}
	return out
}

// Len is the number of registered sessions.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sessions)
}
