package bridge_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

func slowConfig(c *bridge.Config) {
	c.HTTP.QueueSize = 64
	c.HTTP.SlowConsumerTimeout = 300 * time.Millisecond
	c.HTTP.WriteTimeout = 30 * time.Second
}

// fillSocket publishes enough large Readings to fill the loopback socket
// buffers of a client that does not read (a few MB each way).
// wait, when not nil, is called before publication i: a test paces the
// publisher with it.
func fillSocket(t *testing.T, b *bridgetest.Bridge, n int, wait func(i int)) {
	pad := strings.Repeat("x", 32<<10)
	for i := 0; i < n; i++ {
		if wait != nil {
			wait(i)
		}
		b.Publish(t, fmt.Sprintf("zigbee2mqtt/dev-%d", i%3), []byte(fmt.Sprintf(`{"temperature":%d,"description":"%s"}`, i, pad)))
	}
}

func TestSlowLatestConsumerIsConflatedNotDisconnected(t *testing.T) {
	// The client under test reads nothing while ~20 MB are published; on a
	// busy machine under the race detector that takes longer than
	// slowConfig's 30 s write timeout, the guard against dead peers, which
	// is not what this test is about. Give it room.
	b := bridgetest.Start(t, func(c *bridge.Config) {
		slowConfig(c)
		c.HTTP.WriteTimeout = 2 * time.Minute
	})
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices", Mode: "latest"}, nil)
	// A second client that reads says when the bridge has fanned out the
	// last Readings, which the paused one then holds merged.
	watcher := bridgetest.Dial(t, b.WSURL)
	watcher.Connect(b.Token(t, "bob", "default"))
	watcher.MustCall("subscribe", wire.SubscribeParams{Channel: "devices", Mode: "latest"}, nil)
	c.Pause()
	fillSocket(t, b, 600, nil)
	for d := 0; d < 3; d++ {
		b.Publish(t, fmt.Sprintf("zigbee2mqtt/dev-%d", d), []byte(fmt.Sprintf(`{"temperature":%d}`, 1000+d)))
	}
	seen := map[string]float64{}
	for seen["dev-0"] != 1000 || seen["dev-1"] != 1001 || seen["dev-2"] != 1002 {
		p, ok := watcher.NextMessage(20 * time.Second)
		require.True(t, ok, "the reading client never got the last values: %v", seen)
		r := reading(t, p)
		seen[r.Device] = r.Metrics["temperature"].(float64)
	}
	// The client stayed slow while all that was published: the bridge merged.
	bridgetest.Eventually(t, 10*time.Second, func() error {
		if testutil.ToFloat64(metricsOf(b).Conflated) == 0 {
			return fmt.Errorf("nothing conflated yet")
		}
		return nil
	})
	c.Resume()

	latest := map[string]float64{}
	maxConflated := 0
	for len(latest) < 3 || latest["dev-0"] != 1000 || latest["dev-1"] != 1001 || latest["dev-2"] != 1002 {
		p, ok := c.NextMessage(10 * time.Second)
		require.True(t, ok, "latest values never arrived: %v", latest)
		r := reading(t, p)
		latest[r.Device] = r.Metrics["temperature"].(float64)
		maxConflated = max(maxConflated, p.Conflated)
	}
	require.Greater(t, maxConflated, 1, "a slow latest-mode client gets merged messages")
	require.Greater(t, testutil.ToFloat64(metricsOf(b).Conflated), 0.0)
	c.MustCall("ping", nil, nil) // still connected
}

func TestSlowStreamConsumerIsClosed4009OthersKeepUp(t *testing.T) {
	b := bridgetest.Start(t, slowConfig)
	tok := b.Token(t, "alice", "default")
	slow := bridgetest.Dial(t, b.WSURL)
	slow.Connect(tok)
	slow.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	fast := bridgetest.Dial(t, b.WSURL)
	fast.Connect(tok)
	fast.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	slow.Pause()

	const n = 900
	got := make(chan uint64, n)
	var read atomic.Int64
	go func() {
		for i := 0; i < n; i++ {
			p, ok := fast.NextMessage(20 * time.Second)
			if !ok {
				close(got)
				return
			}
			got <- p.Offset
			read.Add(1)
		}
		close(got)
	}()
	filled := make(chan struct{})
	go func() {
		defer close(filled)
		// The fast client must be one in fact: publishing faster than
		// this test's own reader decodes 32 KiB frames (a loaded
		// machine) overflowed its queue, which is the slow-consumer
		// rule working, not a failure of it. So the publisher stays at
		// most half a queue ahead of the fast reader; the paused client
		// still gets every publication, and its buffers fill.
		deadline := time.Now().Add(30 * time.Second)
		fillSocket(t, b, n, func(i int) {
			for int64(i)-read.Load() > 32 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		})
	}()
	// Resume the slow client as soon as the bridge decides it is too slow,
	// so that its blocked write completes and the close frame can follow.
	bridgetest.Eventually(t, 60*time.Second, func() error {
		if v := testutil.ToFloat64(metricsOf(b).SlowConsumers); v != 1 {
			return errorf("slow consumer disconnects: %v", v)
		}
		return nil
	})
	slow.Resume()
	code, ok := slow.WaitClosed(30 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseTooSlow, code)
	<-filled
	var last uint64
	count := 0
	for off := range got {
		require.Equal(t, last+1, off, "the fast client gets every publication in order")
		last = off
		count++
	}
	require.Equal(t, n, count)
	for _, f := range fast.Buffered() {
		require.NotEqual(t, wire.MethodLagged, f.Method)
	}

	var sawLagged, sawDisconnect bool
	for _, f := range slow.Buffered() {
		sawLagged = sawLagged || f.Method == wire.MethodLagged
		sawDisconnect = sawDisconnect || f.Method == wire.MethodDisconnect
	}
	require.True(t, sawLagged, "the slow client was told where its gap starts")
	require.True(t, sawDisconnect)
	require.Equal(t, 1.0, testutil.ToFloat64(metricsOf(b).SlowConsumers))
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if v := testutil.ToFloat64(metricsOf(b).Disconnects.WithLabelValues("4009")); v != 1 {
			return errorf("disconnects{code=4009} = %v", v)
		}
		return nil
	})
	fast.MustCall("ping", nil, nil)
}
