package bridge

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/fanout"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/valkey"
)

// backplane is where a node keeps what it shares with its peers: the
// memory implementations on one node, the Valkey ones in a cluster
// (cluster.backplane).
type backplane struct {
	store    state.Store
	fanout   fanout.Fanout
	presence cluster.Presence
	dedup    cluster.Dedup  // ingest mode shared; nil on one node (dedup.Window there)
	claims   cluster.Claims // ingest mode lock; nil on one node
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
		// No per-call deadline: it would cost a context and a timer per
		// operation on every message, and a dead Valkey connection is
		// already detected by valkey-go's ConnWriteTimeout (client.go).
		err := op(ctx)
		if err == nil || errors.Is(err, state.ErrLimit) { // a limit is not a failure
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
// not-ready meanwhile, with the reason) and builds the cluster backplane.
func (b *Bridge) connectValkey(ctx context.Context) (*backplane, error) {
	cl := b.cfg.Cluster
	b.bpHealth.set(errors.New("connecting to " + strings.Join(cl.Valkey.Addrs, ",")))
	log := b.log.With("component", "valkey")
	c, err := valkey.Dial(ctx, valkey.Config{
		Addrs: cl.Valkey.Addrs, Username: cl.Valkey.Username, Password: cl.Valkey.Password,
		SentinelMaster: cl.Valkey.SentinelMaster, TLS: cl.Valkey.TLS, KeyPrefix: cl.KeyPrefix, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("valkey connected", "addrs", cl.Valkey.Addrs)
	store := valkey.NewStore(c, cl.KeyPrefix, valkey.StoreOptions{
		HistorySize: b.cfg.State.HistorySize, HistoryTTL: b.cfg.State.HistoryTTL, MaxDevices: b.cfg.State.MaxDevices,
		MaxChannelBytes: int64(b.cfg.State.MaxChannelBytes), MaxDeviceFields: b.cfg.State.MaxDeviceFields, DeviceHistorySize: b.cfg.State.DeviceHistorySize,
		MaxTagChannels: b.cfg.State.MaxTagChannels, IdentityTTL: b.cfg.State.IdentityTTL,
		MaxChannels: b.cfg.State.MaxChannels,
		OnEvict:     func(tenant, reason string) { b.metrics.StateEvicted.WithLabelValues(tenant, reason).Inc() },
	})
	fan := valkey.NewFanout(store, b.hub, log)
	parts := valkey.NewBackplane(c, valkey.BackplaneConfig{KeyPrefix: cl.KeyPrefix, Heartbeat: cl.Heartbeat, Logger: log}, b.handleControl)
	// Refuse revoked tokens from the first connect on.
	if err := parts.Control.Load(ctx); err != nil {
		log.Warn("loading revoked tokens failed; retrying in the background", "err", err)
	}
	return &backplane{
		store: store, fanout: fan, presence: parts.Presence, dedup: parts.Dedup, claims: valkey.NewClaims(c, cl.KeyPrefix),
		nodes: parts.Nodes, control: parts.Control, leases: parts.Leases,
		run: parts.Control.Run,
		ping: func(ctx context.Context) error {
			return c.Do(ctx, c.B().Ping().Build()).Error()
		},
		sweepPresence: func(ctx context.Context) error {
			_, err := parts.Presence.SweepPresence(ctx)
			return err
		},
		close: func() {
			fan.Close()
			c.Close()
		},
	}, nil
}
