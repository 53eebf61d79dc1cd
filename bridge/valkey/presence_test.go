package valkey_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/valkey"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestPresence(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	bpTestPresence(t, []string{r.Addr})
}

func TestPresenceDeadNode(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	bpTestPresenceDeadNode(t, []string{r.Addr})
}

// bpTestPresence: two nodes join, both list the same sessions in order,
// tenants and channels are apart, leave removes.
func bpTestPresence(t *testing.T, addrs []string) {
	ctx, prefix := bpCtx(t), bpPrefix(t)
	ca, cb := bpDial(t, addrs...), bpDial(t, addrs...)
	na, nb := valkey.NewNodes(ca, prefix, time.Second), valkey.NewNodes(cb, prefix, time.Second)
	pa, pb := valkey.NewPresence(ca, prefix, na), valkey.NewPresence(cb, prefix, nb)
	require.NoError(t, na.Heartbeat(ctx, cluster.NodeInfo{Node: "a"}))
	require.NoError(t, nb.Heartbeat(ctx, cluster.NodeInfo{Node: "b"}))

	t0 := time.Now().UTC().Truncate(time.Millisecond)
	a1 := wire.PresenceClient{User: "u1", Session: "s-a1", Node: "a", ConnectedAt: t0}
	b1 := wire.PresenceClient{User: "u2", Session: "s-b1", Node: "b", ConnectedAt: t0.Add(time.Second)}
	a2 := wire.PresenceClient{User: "u1", Session: "s-a2", Node: "a", ConnectedAt: t0.Add(2 * time.Second)}
	b2 := wire.PresenceClient{User: "u3", Session: "s-b2", Node: "b", ConnectedAt: t0}
	require.NoError(t, pa.Join(ctx, "acme", "room", a2))
	require.NoError(t, pb.Join(ctx, "acme", "room", b1))
	require.NoError(t, pa.Join(ctx, "acme", "room", a1))
	require.NoError(t, pb.Join(ctx, "acme", "other", b2))
	require.Error(t, pa.Join(ctx, "acme", "room", wire.PresenceClient{Session: "x"}), "node is required")

	for _, p := range []*valkey.Presence{pa, pb} {
		got, err := p.List(ctx, "acme", "room")
		require.NoError(t, err)
		require.Equal(t, []wire.PresenceClient{a1, b1, a2}, got)
	}
	got, err := pa.List(ctx, "acme", "other")
	require.NoError(t, err)
	require.Equal(t, []wire.PresenceClient{b2}, got)
	got, err = pa.List(ctx, "globex", "room")
	require.NoError(t, err)
	require.Empty(t, got, "tenants are apart")

	require.NoError(t, pb.Leave(ctx, "acme", "room", "s-b1"))
	require.NoError(t, pa.Leave(ctx, "acme", "room", "no-such-session"))
	got, err = pb.List(ctx, "acme", "room")
	require.NoError(t, err)
	require.Equal(t, []wire.PresenceClient{a1, a2}, got)

	// Rejoining replaces the entry.
	a1.User = "u9"
	require.NoError(t, pa.Join(ctx, "acme", "room", a1))
	got, err = pb.List(ctx, "acme", "room")
	require.NoError(t, err)
	require.Equal(t, []wire.PresenceClient{a1, a2}, got)

	n, err := pa.SweepPresence(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "live nodes are never swept")
}

// bpTestPresenceDeadNode: a node that stops heartbeating vanishes from
// List within two heartbeats; the sweep then deletes its entries.
func bpTestPresenceDeadNode(t *testing.T, addrs []string) {
	const hb = 200 * time.Millisecond
	ctx, prefix := bpCtx(t), bpPrefix(t)
	ca, cb := bpDial(t, addrs...), bpDial(t, addrs...)
	na, nb := valkey.NewNodes(ca, prefix, hb), valkey.NewNodes(cb, prefix, hb)
	pa, pb := valkey.NewPresence(ca, prefix, na), valkey.NewPresence(cb, prefix, nb)
	require.NoError(t, na.Heartbeat(ctx, cluster.NodeInfo{Node: "a"}))

	t0 := time.Now().UTC().Truncate(time.Millisecond)
	a1 := wire.PresenceClient{User: "u1", Session: "s-a1", Node: "a", ConnectedAt: t0}
	b1 := wire.PresenceClient{User: "u2", Session: "s-b1", Node: "b", ConnectedAt: t0.Add(time.Second)}
	b2 := wire.PresenceClient{User: "u2", Session: "s-b2", Node: "b", ConnectedAt: t0}
	require.NoError(t, pa.Join(ctx, "acme", "room", a1))
	require.NoError(t, pb.Join(ctx, "acme", "room", b1))
	require.NoError(t, pb.Join(ctx, "acme", "lobby", b2))

	// b heartbeats for the last time now.
	require.NoError(t, nb.Heartbeat(ctx, cluster.NodeInfo{Node: "b"}))
	last := time.Now()
	got, err := pa.List(ctx, "acme", "room")
	require.NoError(t, err)
	require.Equal(t, []wire.PresenceClient{a1, b1}, got)

	took := bpPoll(t, 10*time.Second, "b's sessions vanish from presence", func() bool {
		require.NoError(t, na.Heartbeat(ctx, cluster.NodeInfo{Node: "a"})) // a stays alive
		got, err := pa.List(ctx, "acme", "room")
		require.NoError(t, err)
		return len(got) == 1 && got[0] == a1
	})
	gone := time.Since(last)
	t.Logf("dead node vanished %v after its last heartbeat (polled %v)", gone, took)
	require.Less(t, gone, 2*hb+300*time.Millisecond, "within two heartbeats (plus polling slack)")
	got, err = pb.List(ctx, "acme", "lobby")
	require.NoError(t, err)
	require.Empty(t, got)
	nodes, err := na.List(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	require.Equal(t, "a", nodes[0].Node)

	// The sweep deletes b's entries and its bookkeeping, and keeps a's.
	n, err := pa.SweepPresence(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	raw, err := ca.Do(ctx, ca.B().Hkeys().Key(prefix+"{acme:room}:p").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"s-a1"}, raw)
	for _, k := range []string{prefix + "{acme:lobby}:p", prefix + "{node:b}:pk"} {
		e, err := ca.Do(ctx, ca.B().Exists().Key(k).Build()).AsInt64()
		require.NoError(t, err)
		require.Zero(t, e, k)
	}
	writers, err := ca.Do(ctx, ca.B().Smembers().Key(prefix+"{nodes}:pn").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, writers)
	n, err = pa.SweepPresence(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// b comes back and joins again: visible at once.
	require.NoError(t, nb.Heartbeat(ctx, cluster.NodeInfo{Node: "b"}))
	require.NoError(t, pb.Join(ctx, "acme", "room", b1))
	got, err = pa.List(ctx, "acme", "room")
	require.NoError(t, err)
	require.Equal(t, []wire.PresenceClient{a1, b1}, got)
}
