package valkey_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/valkey"
)

func TestNodes(t *testing.T) {
	bpNoLeaks(t)
	const hb = 200 * time.Millisecond
	r := bridgetest.StartRedis(t)
	ctx, prefix := bpCtx(t), bpPrefix(t)
	ca, cb := bpDial(t, r.Addr), bpDial(t, r.Addr)
	na, nb := valkey.NewNodes(ca, prefix, hb), valkey.NewNodes(cb, prefix, hb)
	require.Equal(t, hb, na.Interval())

	started := time.Now().UTC().Truncate(time.Millisecond)
	before := time.Now()
	require.NoError(t, nb.Heartbeat(ctx, cluster.NodeInfo{Node: "b", StartedAt: started, Connections: 3, HTTPAddr: "127.0.0.1:8081"}))
	require.NoError(t, na.Heartbeat(ctx, cluster.NodeInfo{Node: "a", StartedAt: started, Connections: 1}))
	require.NoError(t, nb.Heartbeat(ctx, cluster.NodeInfo{Node: "b", StartedAt: started, Connections: 5, HTTPAddr: "127.0.0.1:8081"}))
	require.Error(t, na.Heartbeat(ctx, cluster.NodeInfo{}), "a node id is required")

	list, err := na.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "a", list[0].Node, "sorted by name")
	require.Equal(t, 1, list[0].Connections)
	require.Equal(t, "b", list[1].Node)
	require.Equal(t, 5, list[1].Connections, "the latest heartbeat wins")
	require.Equal(t, "127.0.0.1:8081", list[1].HTTPAddr)
	require.True(t, list[1].StartedAt.Equal(started))
	for _, n := range list {
		// The server's clock; allow for a little skew with this host.
		require.WithinDuration(t, before, n.LastSeen, 2*time.Second)
	}
	alive, err := nb.Alive(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"a": true, "b": true}, alive)

	// Leave removes at once.
	require.NoError(t, na.Leave(ctx, "a"))
	list, err = nb.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "b", list[0].Node)
	require.NoError(t, na.Leave(ctx, "never-joined"))

	// b stops heartbeating: gone within two heartbeats; a's next heartbeat
	// prunes it from the registry's keys.
	last := time.Now()
	bpPoll(t, 10*time.Second, "b gone", func() bool {
		list, err := na.List(ctx)
		require.NoError(t, err)
		return len(list) == 0
	})
	require.Less(t, time.Since(last), 2*hb+300*time.Millisecond)
	require.NoError(t, na.Heartbeat(ctx, cluster.NodeInfo{Node: "a"}))
	info, err := ca.Do(ctx, ca.B().Hkeys().Key(prefix+"{nodes}:i").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, info)
	z, err := ca.Do(ctx, ca.B().Zrange().Key(prefix+"{nodes}:z").Min("0").Max("-1").Build()).AsStrSlice()
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, z)
}
