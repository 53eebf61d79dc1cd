package bridge

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/fanout"
	"github.com/mqlive/mqlive/bridge/state"
)

// backplane is where a node keeps what it shares with its peers: the
// memory implementations on one node, the Valkey ones in a cluster
// (cluster.backplane).
type backplane struct {
	store    state.Store
	fanout   fanout.Fanout
	presence cluster.Presence
	dedup    cluster.Dedup
	nodes    cluster.Nodes
	control  cluster.Control
	leases   cluster.Leases
	// run runs the backplane's own loops (subscriptions, control) until
	// ctx ends; nil: none.
	run func(ctx context.Context) error
	// ping checks that the backplane answers; nil: always.
	ping func(ctx context.Context) error
	// sweepPresence removes presence entries of dead nodes; nil: none.
	sweepPresence func(ctx context.Context) error
	// close releases connections; nil: none.
	close func()
}

// memoryBackplane is a single node's backplane over mem.
func (b *Bridge) memoryBackplane(mem *state.Memory) *backplane {
	return &backplane{
		store:    mem,
		fanout:   fanout.NewMemory(mem, b.hub),
		presence: cluster.NewMemoryPresence(),
		dedup:    b.dedup,
		nodes:    cluster.NewMemoryNodes(),
		control:  cluster.NewMemoryControl(b.handleControl),
		leases:   cluster.MemoryLeases{},
	}
}

// health tracks whether the backplane answers, for /readyz.
type health struct {
	ok  atomic.Bool
	err atomic.Pointer[string]
}

func (h *health) set(err error) {
	if err == nil {
		h.ok.Store(true)
		return
	}
	msg := err.Error()
	h.err.Store(&msg)
	h.ok.Store(false)
}

func (h *health) check() error {
	if h.ok.Load() {
		return nil
	}
	if p := h.err.Load(); p != nil {
		return errors.New("backplane unreachable: " + *p)
	}
	return errors.New("backplane not connected yet")
}

// retry runs op until it succeeds or ctx ends, backing off up to 2 s and
// counting each failure: ingest must not lose a message to a Valkey blip,
// and waiting here applies backpressure to the broker through QoS 1.
func (b *Bridge) retry(ctx context.Context, name string, op func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := op(octx)
		cancel()
		if err == nil || errors.Is(err, state.ErrTooManyDevices) {
			return err
		}
		b.metrics.BackplaneErrors.WithLabelValues(name).Inc()
		b.log.Warn("backplane operation failed; retrying", "op", name, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// connectValkey connects to Valkey with backoff (the node reports
// not-ready meanwhile) and builds the cluster backplane.
func (b *Bridge) connectValkey(ctx context.Context) (*backplane, error) {
	return nil, errors.New("valkey backplane: not built in this version")
}
