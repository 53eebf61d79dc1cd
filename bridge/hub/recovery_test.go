package hub

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestRecoverMergesHeldLive is centrifuge's recovery without a global lock:
// live publications that arrive between the upstream subscription and the
// store read are held, then merged after the recovered ones by offset: no
// duplicate, no gap, result in between.
func TestRecoverMergesHeldLive(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 16})
	s := session(t, h, "s1", "acme")
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	// Published after the upstream subscription: 5 and 6 are also in the
	// store read below, 7 and 8 are not.
	for i := uint64(5); i <= 8; i++ {
		h.Deliver("acme", pub("devices", i, `{}`))
	}
	require.Empty(t, ready(t, s), "nothing of the channel before its result")
	s.Recover(sub, []*state.Publication{pub("devices", 4, `{}`), pub("devices", 5, `{}`), pub("devices", 6, `{}`)},
		wire.StreamPosition{Epoch: "e1", Offset: 6}, response(1))
	h.Deliver("acme", pub("devices", 9, `{}`))
	h.Deliver("acme", pub("devices", 9, `{}`)) // delivered twice upstream: once here
	require.Equal(t, []string{"devices:4", "devices:5", "devices:6", "resp 1", "devices:7", "devices:8", "devices:9"},
		describe(t, ready(t, s)))
}

func TestRecoverHeldOverflowLags(t *testing.T) {
	h, m := newHub(Config{QueueSize: 4, MaxRecoveryBuffer: 2})
	s := session(t, h, "s1", "acme")
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	for i := uint64(1); i <= 3; i++ {
		h.Deliver("acme", pub("devices", i, `{}`))
	}
	s.Recover(sub, nil, wire.StreamPosition{Epoch: "e1", Offset: 0}, response(1))
	require.Equal(t, []string{"resp 1", "devices:1", "devices:2", "lagged devices@2"}, describe(t, ready(t, s)))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Lagged))
}

func TestGapAndEpochChangeLag(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 16})
	s := session(t, h, "s1", "acme")
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	s.Recover(sub, nil, wire.StreamPosition{Epoch: "e1", Offset: 2}, response(1))
	h.Deliver("acme", pub("devices", 3, `{}`))
	h.Deliver("acme", pub("devices", 5, `{}`)) // 4 never arrived
	require.Equal(t, []string{"resp 1", "devices:3", "lagged devices@3", "devices:5"}, describe(t, ready(t, s)))
	p := pub("devices", 1, `{}`)
	p.Epoch = "e2" // the store lost its history
	h.Deliver("acme", p)
	require.Equal(t, []string{"lagged devices@5", "devices:1"}, describe(t, ready(t, s)))
}

func TestLostLagsEverySubscriber(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 16})
	a := session(t, h, "a", "acme")
	b := session(t, h, "b", "acme")
	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, b, "devices", SubOptions{Mode: wire.ModeLatest})
	h.Deliver("acme", pub("devices", 1, `{}`))
	h.Lost("acme", "devices")
	require.Equal(t, []string{"devices:1", "lagged devices@1"}, describe(t, ready(t, a)))
	require.ElementsMatch(t, []string{"devices:1", "lagged devices@1"}, describe(t, ready(t, b)), "latest-mode slots drain after the queue")
}

// upstream records the node-level subscriptions the hub asks for.
type upstream struct {
	mu   sync.Mutex
	subs map[string]int
	fail error
}

func (u *upstream) Subscribe(_ context.Context, tenant, channel string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return u.fail
	}
	u.subs[tenant+"/"+channel]++
	return nil
}

func (u *upstream) Unsubscribe(_ context.Context, tenant, channel string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.subs[tenant+"/"+channel]--
	return nil
}

func (u *upstream) count(k string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.subs[k]
}

func TestUpstreamFirstAndLast(t *testing.T) {
	up := &upstream{subs: map[string]int{}}
	h, _ := newHub(Config{Upstream: up})
	a := session(t, h, "a", "acme")
	b := session(t, h, "b", "acme")
	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, a, "devices", SubOptions{}) // re-sync
	subscribe(t, h, b, "devices", SubOptions{})
	require.Equal(t, 1, up.count("acme/devices"), "one upstream subscription per channel and node")
	h.Unsubscribe(a, "devices")
	require.Equal(t, 1, up.count("acme/devices"))
	h.Remove(b)
	require.Equal(t, 0, up.count("acme/devices"), "dropped after the last local subscriber")

	up.fail = errors.New("valkey down")
	_, err := h.Subscribe(context.Background(), a, "device:x", SubOptions{})
	require.ErrorIs(t, err, up.fail)
	require.False(t, h.HasSubscribers("acme", "device:x"), "a failed upstream subscribe changes nothing")
	require.False(t, a.Subscribed("device:x"))
	up.fail = nil
	subscribe(t, h, a, "device:x", SubOptions{})
	require.Equal(t, 1, up.count("acme/device:x"))

	h.Remove(a)
	_, err = h.Subscribe(context.Background(), a, "devices", SubOptions{})
	require.ErrorIs(t, err, ErrNotRegistered)
}
