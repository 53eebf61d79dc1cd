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

// TestClaims is the two-phase claim of ingest mode lock: one owner, done
// for the window, and a takeover when the owner's lease runs out.
func TestClaims(t *testing.T) {
	redis := bridgetest.StartRedis(t)
	ctx := context.Background()
	a := valkey.NewClaims(bpDial(t, redis.Addr), "t:")
	b := valkey.NewClaims(bpDial(t, redis.Addr), "t:")
	lease := 300 * time.Millisecond

	ok, err := a.Claim(ctx, "m1", "node-a", lease)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.Claim(ctx, "m1", "node-b", lease)
	require.NoError(t, err)
	require.False(t, ok, "one owner")
	st, err := b.Recheck(ctx, []string{"m1"}, "node-b", lease)
	require.NoError(t, err)
	require.Equal(t, []cluster.ClaimState{cluster.ClaimBusy}, st, "the owner still holds its lease")

	require.NoError(t, a.Done(ctx, "m1", time.Second))
	ok, err = b.Claim(ctx, "m1", "node-b", lease)
	require.NoError(t, err)
	require.False(t, ok, "done within the window")

	// m2's owner dies before it is done: after its lease node-b takes over,
	// once, and the other watchers see it busy, then done.
	ok, err = a.Claim(ctx, "m2", "node-a", lease)
	require.NoError(t, err)
	require.True(t, ok)
	c := valkey.NewClaims(bpDial(t, redis.Addr), "t:")
	bridgetest.Eventually(t, 5*time.Second, func() error {
		st, err := b.Recheck(ctx, []string{"m1", "m2"}, "node-b", lease)
		require.NoError(t, err)
		require.Equal(t, cluster.ClaimDone, st[0])
		if st[1] != cluster.ClaimTaken {
			return errFor(st[1])
		}
		return nil
	})
	st, err = c.Recheck(ctx, []string{"m2"}, "node-c", lease)
	require.NoError(t, err)
	require.Equal(t, []cluster.ClaimState{cluster.ClaimBusy}, st, "node-b holds it now")
	require.NoError(t, b.Done(ctx, "m2", time.Second))
	st, err = c.Recheck(ctx, []string{"m2"}, "node-c", lease)
	require.NoError(t, err)
	require.Equal(t, []cluster.ClaimState{cluster.ClaimDone}, st)
}

type claimStateErr cluster.ClaimState

func (e claimStateErr) Error() string { return "claim state " + string(rune('0'+int(e))) }

func errFor(s cluster.ClaimState) error { return claimStateErr(s) }
