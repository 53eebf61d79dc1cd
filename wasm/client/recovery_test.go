//go:build !js

package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const laggedDevices = `{"jsonrpc":"2.0","method":"lagged","params":{"channel":"devices","offset":41}}`

// subscribed40 subscribes "devices" at e1/40 and delivers offset 41.
func subscribed40(t *testing.T) (*harness, *scriptConn) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":40,"recovered":false,"snapshot":[]}`)
	sub := h.ev.wait(t, kind(EvSubscribed))
	require.False(t, sub.WasRecovering)
	conn.h.Message(pub("devices", "e1", 41, `{"device":"a"}`))
	h.ev.wait(t, kind(EvPublication))
	return h, conn
}

// noGap fails on a gap event until the next publication at off.
func noGap(t *testing.T, h *harness, off int64) {
	h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvGap {
			t.Fatalf("unexpected gap %+v", e)
		}
		return e.Kind == EvPublication && e.Offset == off
	})
}

func TestLaggedRecoveredNoGap(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Message(laggedDevices)
	req := conn.next(t)
	require.Equal(t, 41.0, req.Get("params").Get("since").Get("offset").Float())
	// While the re-sync is pending, only the next offset is delivered.
	conn.h.Message(pub("devices", "e1", 44, `{"device":"a"}`))
	conn.h.Message(pub("devices", "e1", 42, `{"device":"a"}`))
	conn.h.Message(pub("devices", "e1", 43, `{"device":"a"}`))
	conn.h.Message(pub("devices", "e1", 45, `{"device":"a"}`))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":43,"recovered":true}`)
	for _, off := range []int64{42, 43} {
		p := h.ev.wait(t, kind(EvPublication))
		require.Equal(t, off, p.Offset)
	}
	sub := h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvGap || e.Kind == EvPublication {
			t.Fatalf("unexpected event %+v", e)
		}
		return e.Kind == EvSubscribed
	})
	require.True(t, sub.Recovered)
	require.True(t, sub.WasRecovering)
	require.Equal(t, 2, sub.Count)
	conn.h.Message(pub("devices", "e1", 44, `{"device":"a"}`))
	noGap(t, h, 44)
}

func TestLaggedNotRecoveredGap(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Message(laggedDevices)
	req := conn.next(t)
	conn.h.Message(pub("devices", "e1", 50, `{"device":"a"}`)) // ignored
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":60,"recovered":false,"snapshot":[]}`)
	gap := h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvPublication || e.Kind == EvSubscribed {
			t.Fatalf("event %+v before the gap", e)
		}
		return e.Kind == EvGap
	})
	require.Equal(t, "devices", gap.Channel)
	require.Equal(t, "e1", gap.LastEpoch)
	require.Equal(t, int64(41), gap.LastOffset)
	require.Equal(t, "e1", gap.Epoch)
	require.Equal(t, int64(61), gap.Offset)
	sub := h.ev.wait(t, kind(EvSubscribed))
	require.False(t, sub.Recovered)
	require.True(t, sub.WasRecovering)
	require.Equal(t, 0, sub.Count)
	conn.h.Message(pub("devices", "e1", 61, `{"device":"a"}`))
	noGap(t, h, 61)
}

func TestEpochChangeOnLivePublicationGap(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Message(pub("devices", "e2", 1, `{"device":"a"}`))
	gap := h.ev.wait(t, kind(EvGap))
	require.Equal(t, "e1", gap.LastEpoch)
	require.Equal(t, int64(41), gap.LastOffset)
	require.Equal(t, "e2", gap.Epoch)
	require.Equal(t, int64(1), gap.Offset)
	p := h.ev.wait(t, kind(EvPublication))
	require.Equal(t, "e2", p.Epoch)
	// The server's lagged that follows resumes from the new epoch: no gap.
	conn.h.Message(laggedDevices)
	req := conn.next(t)
	require.Equal(t, "e2", str(req.Get("params").Get("since"), "epoch"))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e2","offset":1,"recovered":true}`)
	conn.h.Message(pub("devices", "e2", 2, `{"device":"a"}`))
	noGap(t, h, 2)
}

func TestReconnectRecoveredFacts(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Closed(1006, "")
	conn2 := h.handshake(t, "tok1")
	req := conn2.next(t)
	require.Equal(t, 41.0, req.Get("params").Get("since").Get("offset").Float())
	for off := 42; off <= 44; off++ {
		conn2.h.Message(pub("devices", "e1", off, `{"device":"a"}`))
	}
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":44,"recovered":true}`)
	sub := h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvGap {
			t.Fatalf("unexpected gap %+v", e)
		}
		return e.Kind == EvSubscribed
	})
	require.True(t, sub.Recovered)
	require.True(t, sub.WasRecovering)
	require.Equal(t, 3, sub.Count)
	require.Equal(t, "e1", sub.Epoch)
	require.Equal(t, int64(44), sub.Offset)
}

// A lagged while the re-subscribe of an earlier one is in flight sends no
// second subscribe: its answer covers both, and a second would make the
// server replace the first subscription and drop what it recovered.
func TestLaggedWhileResubscribingSendsOne(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Message(laggedDevices)
	req := conn.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	conn.h.Message(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"devices","offset":43}}`)
	h.c.Ping(nil) // the next frame sent must be this ping, not a subscribe
	require.Equal(t, "ping", str(conn.next(t), "method"))
	conn.h.Message(pub("devices", "e1", 42, `{"device":"a"}`))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":42,"recovered":true}`)
	sub := h.ev.wait(t, kind(EvSubscribed))
	require.True(t, sub.Recovered)
	conn.h.Message(pub("devices", "e1", 43, `{"device":"a"}`))
	noGap(t, h, 43)
}

// A recovered answer whose offset is past the publications delivered
// before it reports the gap instead of moving past them silently.
func TestRecoveredShortOfOffsetGap(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Message(laggedDevices)
	req := conn.next(t)
	conn.h.Message(pub("devices", "e1", 42, `{"device":"a"}`))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":45,"recovered":true}`)
	gap := h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvSubscribed {
			t.Fatalf("subscribed %+v before the gap", e)
		}
		return e.Kind == EvGap
	})
	require.Equal(t, int64(42), gap.LastOffset)
	require.Equal(t, int64(46), gap.Offset)
	require.Equal(t, "e1", gap.Epoch)
	h.ev.wait(t, kind(EvSubscribed))
	conn.h.Message(pub("devices", "e1", 46, `{"device":"a"}`))
	noGap(t, h, 46)
}

// A resume answered by an empty channel (a restarted bridge: epoch "",
// offset 0) does not know the epoch after the gap: one gap is reported
// before the first live publication, with its epoch and offset.
func TestResumeEmptyChannelGapNamesEpoch(t *testing.T) {
	h, conn := subscribed40(t)
	conn.h.Closed(1006, "")
	conn2 := h.handshake(t, "tok1")
	req := conn2.next(t)
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"","offset":0,"recovered":false,"snapshot":[]}`)
	h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvGap {
			t.Fatalf("gap %+v before the epoch is known", e)
		}
		return e.Kind == EvSubscribed
	})
	conn2.h.Message(pub("devices", "e2", 1, `{"device":"a"}`))
	gap := h.ev.wait(t, func(e Event) bool {
		if e.Kind == EvPublication {
			t.Fatalf("publication %+v before the gap", e)
		}
		return e.Kind == EvGap
	})
	require.Equal(t, "e1", gap.LastEpoch)
	require.Equal(t, int64(41), gap.LastOffset)
	require.Equal(t, "e2", gap.Epoch)
	require.Equal(t, int64(1), gap.Offset)
	h.ev.wait(t, kind(EvPublication))
	conn2.h.Message(pub("devices", "e2", 2, `{"device":"a"}`))
	noGap(t, h, 2)
}
