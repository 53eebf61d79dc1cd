//go:build !js

package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLifecycleOfflineStopsRetryingOnlineDialsAtOnce(t *testing.T) {
	clk := &manualClock{now: 1e12}
	h, tr := newStateHarness(t, func(c *Config) { c.Clock = clk; c.MinReconnectDelay = 60000; c.MaxReconnectDelay = 60000 })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0", "devices: unsubscribed>subscribing 0")

	h.c.Offline()
	tr.expect(t, "connected>disconnected 0")
	wait(t, conn.isClosed)
	// No retry while offline, however long it lasts.
	clk.advance(10 * 60000)
	h.tr.noDial(t, 50*time.Millisecond)
	tr.none(t, 0)

	// Online dials at once: no backoff, although the delay is a minute.
	h.c.Online()
	conn2 := h.handshake(t, "tok1")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")
	req := conn2.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
}

func TestLifecycleOfflineReason(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	h.handshake(t, "tok1")
	h.c.Offline()
	ev := h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.State == StateDisconnected })
	require.Equal(t, "offline", ev.Reason)
	// Connect while offline waits for Online; Disconnect cancels it.
	errc := make(chan error, 1)
	h.c.Connect(func(err error) { errc <- err })
	h.tr.noDial(t, 50*time.Millisecond)
	h.c.Disconnect()
	require.Equal(t, ErrDisconnected, <-errc)
	h.c.Online()
	h.tr.noDial(t, 50*time.Millisecond)
}

func TestLifecycleOnlineSkipsBackoff(t *testing.T) {
	clk := &manualClock{now: 1e12}
	h, tr := newStateHarness(t, func(c *Config) { c.Clock = clk; c.MinReconnectDelay = 60000; c.MaxReconnectDelay = 60000 })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	conn.h.Closed(1006, "")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0", "connected>connecting 1006")
	h.tr.noDial(t, 50*time.Millisecond)
	h.c.Online() // never went offline: still cuts the backoff short
	h.handshake(t, "tok1")
}

func TestLifecycleCheck(t *testing.T) {
	clk := &manualClock{now: 1e12}
	h, tr := newStateHarness(t, func(c *Config) { c.Clock = clk; c.MinReconnectDelay = 60000; c.MaxReconnectDelay = 60000 })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1") // ping_interval_ms 25000
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")

	// A live connection: Check does nothing.
	clk.set(1e12 + 40000)
	h.c.Check(0)
	h.tr.noDial(t, 50*time.Millisecond)
	tr.none(t, 0)
	require.False(t, conn.isClosed())

	// Silent for more than two ping intervals: dead, redialled at once.
	clk.set(1e12 + 50001)
	h.c.Check(0)
	tr.expect(t, "connected>connecting 0")
	conn2 := h.handshake(t, "tok1")
	require.True(t, conn.isClosed())
	tr.expect(t, "connecting>connected 0")

	// A wall-clock jump the Clock did not see counts as silence.
	h.c.Check(60000)
	tr.expect(t, "connected>connecting 0")
	h.handshake(t, "tok1")
	require.True(t, conn2.isClosed())
	tr.expect(t, "connecting>connected 0")
}

func TestLifecycleCheckInBackoffDialsAtOnce(t *testing.T) {
	clk := &manualClock{now: 1e12}
	h, tr := newStateHarness(t, func(c *Config) { c.Clock = clk; c.MinReconnectDelay = 60000; c.MaxReconnectDelay = 60000 })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	conn.h.Closed(1006, "")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0", "connected>connecting 1006")
	h.tr.noDial(t, 50*time.Millisecond)
	h.c.Check(0)
	h.handshake(t, "tok1")
}

func TestLifecycleHiddenWatchdogDoesNotDrop(t *testing.T) {
	clk := &manualClock{now: 1e12}
	h, tr := newStateHarness(t, func(c *Config) { c.Clock = clk })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")
	h.c.SetHidden(true)
	h.c.Ping(nil) // a round trip on the actor: SetHidden has run
	conn.next(t)
	// A throttled timer fires a minute late: silence beyond interval+slack.
	clk.advance(60000)
	req := conn.next(t)
	require.Equal(t, "ping", str(req, "method"), "still probing")
	h.tr.noDial(t, 50*time.Millisecond)
	require.False(t, conn.isClosed())
	tr.none(t, 0)
	// The server's pings kept the socket up: a reply arrives, the page shows.
	conn.reply(req.Get("id"), `{}`)
	h.c.SetHidden(false)
	h.tr.noDial(t, 50*time.Millisecond)
	require.False(t, conn.isClosed())

	// Visible again: the watchdog gives up on silence as before.
	clk.advance(60000)
	tr.expect(t, "connected>connecting 0")
}
