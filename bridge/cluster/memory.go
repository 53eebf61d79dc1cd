package cluster

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

type chanKey struct{ tenant, channel string }

// MemoryPresence is the presence of a single node.
type MemoryPresence struct {
	mu  sync.Mutex
	chs map[chanKey]map[string]wire.PresenceClient
}

var _ Presence = (*MemoryPresence)(nil)

// NewMemoryPresence returns an empty presence.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{chs: make(map[chanKey]map[string]wire.PresenceClient)}
}

// Join records c on channel.
func (p *MemoryPresence) Join(_ context.Context, tenant, channel string, c wire.PresenceClient) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := chanKey{tenant, channel}
	m := p.chs[k]
	if m == nil {
		m = make(map[string]wire.PresenceClient)
		p.chs[k] = m
	}
	m[c.Session] = c
	return nil
}

// Leave removes session from channel.
func (p *MemoryPresence) Leave(_ context.Context, tenant, channel, session string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := chanKey{tenant, channel}
	if m := p.chs[k]; m != nil {
		delete(m, session)
		if len(m) == 0 {
			delete(p.chs, k)
		}
	}
	return nil
}

// List returns the channel's sessions, oldest first.
func (p *MemoryPresence) List(_ context.Context, tenant, channel string) ([]wire.PresenceClient, error) {
	p.mu.Lock()
	m := p.chs[chanKey{tenant, channel}]
	out := make([]wire.PresenceClient, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	p.mu.Unlock()
	SortPresence(out)
	return out, nil
}

// SortPresence orders clients by connection time, then session id.
func SortPresence(cs []wire.PresenceClient) {
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].ConnectedAt.Equal(cs[j].ConnectedAt) {
			return cs[i].ConnectedAt.Before(cs[j].ConnectedAt)
		}
		return cs[i].Session < cs[j].Session
	})
}

// MemoryNodes is the registry of a single node: itself.
type MemoryNodes struct {
	mu    sync.Mutex
	nodes map[string]NodeInfo
}

var _ Nodes = (*MemoryNodes)(nil)

// NewMemoryNodes returns an empty registry.
func NewMemoryNodes() *MemoryNodes { return &MemoryNodes{nodes: make(map[string]NodeInfo)} }

// Heartbeat records n.
func (r *MemoryNodes) Heartbeat(_ context.Context, n NodeInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n.LastSeen.IsZero() {
		n.LastSeen = time.Now().UTC()
	}
	r.nodes[n.Node] = n
	return nil
}

// List returns the registered nodes.
func (r *MemoryNodes) List(context.Context) ([]NodeInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]NodeInfo, 0, len(r.nodes))
	for _, n := range r.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// Leave forgets node.
func (r *MemoryNodes) Leave(_ context.Context, node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.nodes, node)
	return nil
}

// MemoryControl is the control channel of a single node: Send calls the
// handler directly.
type MemoryControl struct {
	h ControlHandler

	mu       sync.Mutex
	revoked  map[string]time.Time
	signouts map[string]SignOut
}

// SignOut is a sign-out in force: tokens issued before NotBefore are
// refused until Until.
type SignOut struct{ NotBefore, Until time.Time }

// Merge keeps the later of both times of s and o.
func (s SignOut) Merge(o SignOut) SignOut {
	if o.NotBefore.After(s.NotBefore) {
		s.NotBefore = o.NotBefore
	}
	if o.Until.After(s.Until) {
		s.Until = o.Until
	}
	return s
}

var _ Control = (*MemoryControl)(nil)

// NewMemoryControl returns a control channel that calls h.
func NewMemoryControl(h ControlHandler) *MemoryControl {
	return &MemoryControl{h: h, revoked: make(map[string]time.Time), signouts: make(map[string]SignOut)}
}

// Send acts on m at once.
func (c *MemoryControl) Send(_ context.Context, m ControlMessage) error {
	if m.Kind == ControlRevoke && m.JTI != "" {
		c.Revoke(m.JTI, m.Until)
	}
	if m.Kind == ControlSignOut && !m.NotBefore.IsZero() {
		c.SignOut(SignOutKey(m.Tenant, m.User), SignOut{NotBefore: m.NotBefore, Until: m.Until})
	}
	c.h(m)
	return nil
}

// SignOut records a sign-out, keeping the later times, and drops ended
// ones.
func (c *MemoryControl) SignOut(key string, s SignOut) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, o := range c.signouts {
		if !now.Before(o.Until) {
			delete(c.signouts, k)
		}
	}
	if now.Before(s.Until) {
		c.signouts[key] = c.signouts[key].Merge(s)
	}
}

// NotBefore returns the sign-out time of (tenant, user) while in force.
func (c *MemoryControl) NotBefore(tenant, user string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.signouts[SignOutKey(tenant, user)]
	if !ok || !time.Now().Before(s.Until) {
		return time.Time{}
	}
	return s.NotBefore
}

// Revoke records a revoked jti until the given time, dropping expired ones.
func (c *MemoryControl) Revoke(jti string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, u := range c.revoked {
		if now.After(u) {
			delete(c.revoked, k)
		}
	}
	c.revoked[jti] = until
}

// Revoked reports whether jti is revoked and not yet past its until.
func (c *MemoryControl) Revoked(jti string) bool {
	if jti == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.revoked[jti]
	return ok && time.Now().Before(u)
}

// MemoryLeases grants every lease: a single node is the whole cluster.
type MemoryLeases struct{}

var _ Leases = MemoryLeases{}

// Acquire always succeeds.
func (MemoryLeases) Acquire(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
