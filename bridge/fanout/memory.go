package fanout

import (
	"context"
	"sync"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

type chanKey struct{ tenant, channel string }

// Memory is the fan-out of a single node: Publish appends to a state.Memory
// and delivers to the Handler when this node subscribes the channel.
type Memory struct {
	store *state.Memory
	h     Handler

	mu   sync.RWMutex
	subs map[chanKey]struct{}
}

var _ Fanout = (*Memory)(nil)

// NewMemory returns a fan-out over store that delivers to h.
func NewMemory(store *state.Memory, h Handler) *Memory {
	return &Memory{store: store, h: h, subs: make(map[chanKey]struct{})}
}

// Publish appends and delivers in one critical section of the tenant, so
// that delivery order is offset order even with several publishers.
func (m *Memory) Publish(_ context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*state.Publication, error) {
	var pub *state.Publication
	m.store.Do(tenant, func(t *state.Tenant) {
		pub = t.Append(ch, data, r)
		m.mu.RLock()
		_, ok := m.subs[chanKey{tenant, ch.Name}]
		m.mu.RUnlock()
		if ok {
			pub.BuildFrame() // only a delivered publication needs one
			m.h.Deliver(tenant, pub)
		}
	})
	return pub, nil
}

// Subscribe starts delivering the channel.
func (m *Memory) Subscribe(_ context.Context, tenant, channel string) error {
	m.mu.Lock()
	m.subs[chanKey{tenant, channel}] = struct{}{}
	m.mu.Unlock()
	return nil
}

// Unsubscribe stops delivering the channel.
func (m *Memory) Unsubscribe(_ context.Context, tenant, channel string) error {
	m.mu.Lock()
	delete(m.subs, chanKey{tenant, channel})
	m.mu.Unlock()
	return nil
}

// Subscribed reports whether the channel is subscribed (for tests and
// metrics).
func (m *Memory) Subscribed(tenant, channel string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.subs[chanKey{tenant, channel}]
	return ok
}
