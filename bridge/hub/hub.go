package hub

import (
	"errors"
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
	Metrics      *metrics.Metrics
}

type chanKey struct{ tenant, channel string }

// Hub knows which local sessions subscribe to which channels.
type Hub struct {
	cfg Config
	mu  sync.RWMutex
	// subs maps a channel to its subscribers. Readers take mu.RLock, so
	// deliveries to different channels run in parallel.
	subs     map[chanKey]map[*Session]*Sub
	sessions map[*Session]struct{}
	perTen   map[string]int
}

// New returns an empty hub.
func New(cfg Config) *Hub {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.SlowConsumerTimeout <= 0 {
		cfg.SlowConsumerTimeout = 10 * time.Second
	}
	return &Hub{
		cfg:      cfg,
		subs:     make(map[chanKey]map[*Session]*Sub),
		sessions: make(map[*Session]struct{}),
		perTen:   make(map[string]int),
	}
}

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

// Remove forgets a session and all its subscriptions.
func (h *Hub) Remove(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sessions[s]; !ok {
		return
	}
	delete(h.sessions, s)
	h.perTen[s.Tenant]--
	if h.perTen[s.Tenant] == 0 {
		delete(h.perTen, s.Tenant)
	}
	n := 0
	for _, ch := range s.channels() {
		k := chanKey{s.Tenant, ch}
		if m := h.subs[k]; m != nil {
			delete(m, s)
			n++
			if len(m) == 0 {
				delete(h.subs, k)
			}
		}
	}
	if m := h.cfg.Metrics; m != nil {
		m.Connections.WithLabelValues(s.Tenant).Dec()
		m.Subscriptions.WithLabelValues(s.Tenant).Sub(float64(n))
	}
}

// Subscribe adds (or re-syncs) a subscription and returns it. The caller
// enqueues recovered publications and the subscribe result through the
// returned Sub while the channel's tenant is locked in the state store, so
// no live publication can slip in between.
func (h *Hub) Subscribe(s *Session, channel string, opts SubOptions) *Sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := chanKey{s.Tenant, channel}
	m := h.subs[k]
	if m == nil {
		m = make(map[*Session]*Sub)
		h.subs[k] = m
	}
	sub, existed := m[s]
	sub = s.subscribe(channel, opts, sub)
	m[s] = sub
	if !existed {
		if met := h.cfg.Metrics; met != nil {
			met.Subscriptions.WithLabelValues(s.Tenant).Inc()
		}
	}
	return sub
}

// Unsubscribe removes a subscription; it reports whether it existed.
func (h *Hub) Unsubscribe(s *Session, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := chanKey{s.Tenant, channel}
	m := h.subs[k]
	if _, ok := m[s]; !ok {
		return false
	}
	delete(m, s)
	if len(m) == 0 {
		delete(h.subs, k)
	}
	s.unsubscribe(channel)
	if met := h.cfg.Metrics; met != nil {
		met.Subscriptions.WithLabelValues(s.Tenant).Dec()
	}
	return true
}

// HasSubscribers reports whether any local session subscribes to channel.
// Ingest uses it to skip building monitor events no one watches.
func (h *Hub) HasSubscribers(tenant, channel string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs[chanKey{tenant, channel}]) > 0
}

// Deliver hands p to every local subscriber of its channel. It never blocks
// on a client.
func (h *Hub) Deliver(tenant string, p *state.Publication) {
	start := time.Now()
	h.mu.RLock()
	for s, sub := range h.subs[chanKey{tenant, p.Channel}] {
		s.deliver(sub, p)
	}
	h.mu.RUnlock()
	if m := h.cfg.Metrics; m != nil {
		m.FanoutTime.Observe(time.Since(start).Seconds())
	}
}

// Presence lists the sessions subscribed to a channel on this node.
func (h *Hub) Presence(tenant, channel string) []wire.PresenceClient {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.subs[chanKey{tenant, channel}]
	out := make([]wire.PresenceClient, 0, len(m))
	for s := range m {
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
