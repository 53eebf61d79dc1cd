package valkey_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/valkey"
)

func TestDedup(t *testing.T) {
	bpNoLeaks(t)
	const window = 300 * time.Millisecond
	r := bridgetest.StartRedis(t)
	ctx, prefix := bpCtx(t), bpPrefix(t)
	da, db := valkey.NewDedup(bpDial(t, r.Addr), prefix), valkey.NewDedup(bpDial(t, r.Addr), prefix)

	start := time.Now()
	ok, err := da.Claim(ctx, "acme/dev1/42", window)
	require.NoError(t, err)
	require.True(t, ok, "first claim")
	for _, d := range []*valkey.Dedup{da, db} {
		ok, err = d.Claim(ctx, "acme/dev1/42", window)
		require.NoError(t, err)
		require.False(t, ok, "claimed again within the window, on any node")
	}
	ok, err = db.Claim(ctx, "acme/dev1/43", window)
	require.NoError(t, err)
	require.True(t, ok, "another key")

	bpPoll(t, 10*time.Second, "claimable again after the window", func() bool {
		ok, err := db.Claim(ctx, "acme/dev1/42", window)
		require.NoError(t, err)
		return ok
	})
	require.GreaterOrEqual(t, time.Since(start), window)
	ok, err = da.Claim(ctx, "acme/dev1/42", window)
	require.NoError(t, err)
	require.False(t, ok, "the new claim holds a new window")

	ok, err = da.Claim(ctx, "zero-window", 0)
	require.NoError(t, err)
	require.True(t, ok, "a zero window still claims (1 ms)")
}
