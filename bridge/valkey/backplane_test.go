package valkey_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vk "github.com/valkey-io/valkey-go"
	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/valkey"
)

// bpNoLeaks fails the test if goroutines it started outlive it (checked
// after every other cleanup: it must be called first). valkey-go's cluster
// client closes connections to moved nodes 5 s after a topology refresh,
// from a goroutine of its own; that one is allowed.
func bpNoLeaks(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/valkey-io/valkey-go.(*clusterClient)._refresh.func2")}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// bpDial connects a client ("a node") to addrs; it is closed when the
// test ends.
func bpDial(t *testing.T, addrs ...string) vk.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := valkey.Dial(ctx, valkey.Config{Addrs: addrs, Logger: bpLogger(t)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// bpCtx is a context that ends with the test, or after a minute.
func bpCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bpPrefix is a key prefix of the test's own, so subtests sharing a
// server do not see each other's keys.
func bpPrefix(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, t.Name())
	return "t_" + name + ":"
}

// bpAddrs lists the processes' addresses.
func bpAddrs(ps []*bridgetest.Process) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Addr)
	}
	return out
}

// bpPoll calls cond every 10 ms until it holds, failing the test after
// timeout; it returns how long that took.
func bpPoll(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
	return time.Since(start)
}

// bpLogger logs warnings to the test log while the test runs.
func bpLogger(t *testing.T) *slog.Logger {
	w := &bpLogWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type bpLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *bpLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *bpLogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

func TestBackplaneParts(t *testing.T) {
	bpNoLeaks(t)
	r := bridgetest.StartRedis(t)
	c := bpDial(t, r.Addr)
	bp := valkey.NewBackplane(c, valkey.BackplaneConfig{}, nil)
	require.NotNil(t, bp.Presence)
	require.NotNil(t, bp.Dedup)
	require.NotNil(t, bp.Control)
	require.NotNil(t, bp.Leases)
	require.Equal(t, valkey.DefaultHeartbeat, bp.Nodes.Interval())
	ok, err := bp.Dedup.Claim(bpCtx(t), "k", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	n, err := c.Do(bpCtx(t), c.B().Exists().Key("mqlive:dd:k").Build()).AsInt64()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the default prefix is mqlive:")
}
