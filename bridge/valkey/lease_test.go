package valkey_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/valkey"
)

func TestLeases(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	ctx, prefix := bpCtx(t), bpPrefix(t)
	ca := bpDial(t, r.Addr)
	la, lb := valkey.NewLeases(ca, prefix), valkey.NewLeases(bpDial(t, r.Addr), prefix)
	acquire := func(l *valkey.Leases, node string, ttl time.Duration) bool {
		t.Helper()
		ok, err := l.Acquire(ctx, "sweep", node, ttl)
		require.NoError(t, err)
		return ok
	}
	pttl := func() time.Duration {
		t.Helper()
		ms, err := ca.Do(ctx, ca.B().Pttl().Key(prefix+"lease:sweep").Build()).AsInt64()
		require.NoError(t, err)
		return time.Duration(ms) * time.Millisecond
	}

	// One holder at a time.
	require.True(t, acquire(la, "a", 300*time.Millisecond))
	require.False(t, acquire(lb, "b", time.Minute))
	require.True(t, acquire(la, "a", 300*time.Millisecond), "the holder renews")
	other, err := lb.Acquire(ctx, "other", "b", time.Minute)
	require.NoError(t, err)
	require.True(t, other, "leases are apart by name")

	// Renewal extends the lease to the new ttl.
	require.True(t, acquire(la, "a", time.Minute))
	require.Greater(t, pttl(), 50*time.Second)
	require.False(t, acquire(lb, "b", time.Minute))

	// The holder stops renewing: b takes over once the ttl runs out.
	require.True(t, acquire(la, "a", 200*time.Millisecond))
	require.LessOrEqual(t, pttl(), 200*time.Millisecond)
	start := time.Now()
	bpPoll(t, 10*time.Second, "b takes the lease over", func() bool { return acquire(lb, "b", time.Minute) })
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "not before the ttl ran out")
	require.False(t, acquire(la, "a", time.Minute), "a lost it")

	// Release by a non-holder does nothing; by the holder frees it at once.
	require.NoError(t, la.Release(ctx, "sweep", "a"))
	require.False(t, acquire(la, "a", time.Minute))
	require.NoError(t, lb.Release(ctx, "sweep", "b"))
	require.True(t, acquire(la, "a", time.Minute))
}
