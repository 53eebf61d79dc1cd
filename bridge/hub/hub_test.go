package hub

import (
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
)

func TestNewDefaults(t *testing.T) {
	h := New(Config{})
	require.Equal(t, 256, h.cfg.QueueSize)
	require.Equal(t, 10*time.Second, h.cfg.SlowConsumerTimeout)
	s := h.NewSession("s", "alice", "acme", "node-a")
	require.Equal(t, "alice", s.User)
	require.False(t, s.ConnectedAt.IsZero())
	require.Equal(t, time.UTC, s.ConnectedAt.Location())
	require.Zero(t, h.Len(), "NewSession does not register")
}

func TestAddRemoveAndGauges(t *testing.T) {
	h, m := newHub(Config{})
	a := session(t, h, "a", "acme")
	b := session(t, h, "b", "acme")
	c := session(t, h, "c", "other")
	require.Equal(t, 3, h.Len())
	require.ElementsMatch(t, []*Session{a, b, c}, h.Sessions())
	require.Equal(t, 2.0, testutil.ToFloat64(m.Connections.WithLabelValues("acme")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Connections.WithLabelValues("other")))

	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, a, "device:x", SubOptions{})
	subscribe(t, h, a, "devices", SubOptions{Mode: wire.ModeLatest}) // re-sync, not a new one
	subscribe(t, h, b, "devices", SubOptions{})
	require.Equal(t, 3.0, testutil.ToFloat64(m.Subscriptions.WithLabelValues("acme")))

	h.Remove(a)
	h.Remove(a) // idempotent
	require.Equal(t, 2, h.Len())
	require.Equal(t, 1.0, testutil.ToFloat64(m.Connections.WithLabelValues("acme")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Subscriptions.WithLabelValues("acme")))
	require.False(t, h.HasSubscribers("acme", "device:x"))
	require.True(t, h.HasSubscribers("acme", "devices"))

	h.Deliver("acme", pub("devices", 1, `{}`))
	require.Empty(t, ready(t, a), "a removed session gets nothing")
	require.Len(t, ready(t, b), 1)

	h.Remove(b)
	h.Remove(c)
	require.Zero(t, h.Len())
	require.Zero(t, testutil.ToFloat64(m.Connections.WithLabelValues("acme")))
	require.Zero(t, testutil.ToFloat64(m.Subscriptions.WithLabelValues("acme")))
	require.Empty(t, h.subs, "no empty channel entries are left behind")
	require.Empty(t, h.perTen)
}

func TestRemoveUnknownSession(t *testing.T) {
	h, m := newHub(Config{})
	s := h.NewSession("s", "u", "acme", "n")
	h.Remove(s)
	require.Zero(t, testutil.ToFloat64(m.Connections.WithLabelValues("acme")))
}

func TestMaxPerTenant(t *testing.T) {
	h, m := newHub(Config{MaxPerTenant: 2})
	a := session(t, h, "a", "acme")
	session(t, h, "b", "acme")
	extra := h.NewSession("c", "u", "acme", "n")
	require.ErrorIs(t, h.Add(extra), ErrTenantFull)
	require.Equal(t, 2, h.Len())
	require.Equal(t, 2.0, testutil.ToFloat64(m.Connections.WithLabelValues("acme")))
	session(t, h, "d", "other") // the limit is per tenant
	h.Remove(a)
	require.NoError(t, h.Add(extra), "a slot frees when a session leaves")
}

func TestPresenceAndHasSubscribers(t *testing.T) {
	h, _ := newHub(Config{})
	a := session(t, h, "a", "acme")
	b := session(t, h, "b", "acme")
	c := session(t, h, "c", "other")
	require.False(t, h.HasSubscribers("acme", "devices"))
	require.Empty(t, h.Presence("acme", "devices"))
	require.NotNil(t, h.Presence("acme", "devices"), "an empty list, not null, in the result")

	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, b, "devices", SubOptions{Mode: wire.ModeLatest})
	subscribe(t, h, c, "devices", SubOptions{})
	require.True(t, h.HasSubscribers("acme", "devices"))
	require.False(t, h.HasSubscribers("acme", "monitor"))
	require.False(t, h.HasSubscribers("nobody", "devices"))

	pres := h.Presence("acme", "devices")
	sort.Slice(pres, func(i, j int) bool { return pres[i].Session < pres[j].Session })
	require.Equal(t, []wire.PresenceClient{
		{User: "user-a", Session: "a", Node: "node-a", ConnectedAt: a.ConnectedAt},
		{User: "user-b", Session: "b", Node: "node-a", ConnectedAt: b.ConnectedAt},
	}, pres, "presence never lists another tenant's sessions")

	h.Unsubscribe(a, "devices")
	require.Len(t, h.Presence("acme", "devices"), 1)
	h.Unsubscribe(b, "devices")
	require.False(t, h.HasSubscribers("acme", "devices"))
}

func TestDeliverIsTenantScoped(t *testing.T) {
	h, m := newHub(Config{})
	a := session(t, h, "a", "acme")
	o := session(t, h, "o", "other")
	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, o, "devices", SubOptions{})
	h.Deliver("acme", pub("devices", 1, `{}`))
	require.Len(t, ready(t, a), 1)
	require.Empty(t, ready(t, o), "the same channel name in another tenant is another channel")
	h.Deliver("acme", pub("app:none", 1, `{}`)) // nobody subscribes: nothing happens
	var out dto.Metric
	require.NoError(t, m.FanoutTime.(prometheus.Metric).Write(&out))
	require.Equal(t, uint64(2), out.GetHistogram().GetSampleCount(), "every Deliver is timed")
}
