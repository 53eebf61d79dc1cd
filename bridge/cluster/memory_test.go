package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestMemoryPresence(t *testing.T) {
	ctx := context.Background()
	p := cluster.NewMemoryPresence()
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	require.NoError(t, p.Join(ctx, "acme", "devices", wire.PresenceClient{User: "b", Session: "s2", Node: "n", ConnectedAt: t0.Add(time.Second)}))
	require.NoError(t, p.Join(ctx, "acme", "devices", wire.PresenceClient{User: "a", Session: "s1", Node: "n", ConnectedAt: t0}))
	require.NoError(t, p.Join(ctx, "other", "devices", wire.PresenceClient{User: "x", Session: "s3", Node: "n", ConnectedAt: t0}))
	got, err := p.List(ctx, "acme", "devices")
	require.NoError(t, err)
	require.Equal(t, []string{"s1", "s2"}, []string{got[0].Session, got[1].Session}, "oldest first, tenant scoped")
	require.NoError(t, p.Leave(ctx, "acme", "devices", "s1"))
	require.NoError(t, p.Leave(ctx, "acme", "devices", "s2"))
	got, err = p.List(ctx, "acme", "devices")
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestMemoryControlAndRevocation(t *testing.T) {
	var got []cluster.ControlMessage
	c := cluster.NewMemoryControl(func(m cluster.ControlMessage) { got = append(got, m) })
	require.NoError(t, c.Send(context.Background(), cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "acme/t1", Until: time.Now().Add(time.Hour)}))
	require.NoError(t, c.Send(context.Background(), cluster.ControlMessage{Kind: cluster.ControlRevoke, JTI: "acme/old", Until: time.Now().Add(-time.Second)}))
	require.Len(t, got, 2)
	require.True(t, c.Revoked("acme/t1"))
	require.False(t, c.Revoked("acme/old"), "a revocation ends at its until")
	require.False(t, c.Revoked(""))
}

func TestMemoryControlSignOut(t *testing.T) {
	c := cluster.NewMemoryControl(func(cluster.ControlMessage) {})
	now := time.Now()
	require.True(t, c.NotBefore("acme", "alice").IsZero())
	send := func(user string, nbf, until time.Time) {
		require.NoError(t, c.Send(context.Background(), cluster.ControlMessage{Kind: cluster.ControlSignOut,
			Tenant: "acme", User: user, NotBefore: nbf, Until: until}))
	}
	send("alice", now, now.Add(time.Hour))
	require.True(t, c.NotBefore("acme", "alice").Equal(now))
	require.True(t, c.NotBefore("globex", "alice").IsZero(), "per tenant")
	require.True(t, c.NotBefore("acme", "bob").IsZero(), "per user")
	send("alice", now.Add(-time.Minute), now.Add(time.Minute))
	require.True(t, c.NotBefore("acme", "alice").Equal(now), "the later sign-out wins")
	send("bob", now.Add(-2*time.Hour), now.Add(-time.Second))
	require.True(t, c.NotBefore("acme", "bob").IsZero(), "a sign-out ends at its until")
}

func TestMemoryNodesAndLeases(t *testing.T) {
	ctx := context.Background()
	n := cluster.NewMemoryNodes()
	require.NoError(t, n.Heartbeat(ctx, cluster.NodeInfo{Node: "b"}))
	require.NoError(t, n.Heartbeat(ctx, cluster.NodeInfo{Node: "a", Connections: 3}))
	list, err := n.List(ctx)
	require.NoError(t, err)
	require.Equal(t, "a", list[0].Node)
	require.Equal(t, 3, list[0].Connections)
	require.NoError(t, n.Leave(ctx, "a"))
	list, _ = n.List(ctx)
	require.Len(t, list, 1)
	ok, err := cluster.MemoryLeases{}.Acquire(ctx, "sweep", "a", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
}
