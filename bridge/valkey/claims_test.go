package valkey_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/valkey"
)

// TestClaims is the two-phase claim of ingest mode lock: one owner, named
// to the losers; done for the window; free again when the owner's lease
// runs out without a done mark.
func TestClaims(t *testing.T) {
	redis := bridgetest.StartRedis(t)
	ctx := context.Background()
	a := valkey.NewClaims(bpDial(t, redis.Addr), "t:")
	b := valkey.NewClaims(bpDial(t, redis.Addr), "t:")
	lease := 300 * time.Millisecond

	owner, ok, err := a.Claim(ctx, "m1", "node-a", lease)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "node-a", owner)
	owner, ok, err = b.Claim(ctx, "m1", "node-b", lease)
	require.NoError(t, err)
	require.False(t, ok, "one owner")
	require.Equal(t, "node-a", owner, "the loser learns who holds it")
	st, err := b.Recheck(ctx, []string{"m1"})
	require.NoError(t, err)
	require.Equal(t, []cluster.ClaimState{cluster.ClaimBusy}, st)

	require.NoError(t, a.Done(ctx, "m1", time.Second))
	owner, ok, err = b.Claim(ctx, "m1", "node-b", lease)
	require.NoError(t, err)
	require.False(t, ok, "done within the window")
	require.Empty(t, owner, "done: nobody to wait for")

	// m2's owner dies before it is done: the claim becomes free.
	_, ok, err = a.Claim(ctx, "m2", "node-a", lease)
	require.NoError(t, err)
	require.True(t, ok)
	bridgetest.Eventually(t, 5*time.Second, func() error {
		st, err := b.Recheck(ctx, []string{"m1", "m2", "never"})
		require.NoError(t, err)
		require.Equal(t, cluster.ClaimDone, st[0])
		require.Equal(t, cluster.ClaimFree, st[2])
		if st[1] != cluster.ClaimFree {
			return errState(st[1])
		}
		return nil
	})
	_, ok, err = b.Claim(ctx, "m2", "node-b", lease)
	require.NoError(t, err)
	require.True(t, ok, "the first watcher to claim a free message takes it over")
	owner, ok, err = a.Claim(ctx, "m2", "node-c", lease)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, "node-b", owner)
}

type errState cluster.ClaimState

func (e errState) Error() string { return "claim state " + string(rune('0'+int(e))) }
