//go:build !js

package client

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const reading1 = `{"device":"kitchen","family":"zigbee2mqtt","online":true,"ts":"2026-11-23T17:00:00Z","received_at":"2026-11-23T17:00:00Z","metrics":{"temperature":21.5,"humidity":48},"stale":false}`

func pub(ch, epoch string, off int, data string) string {
	return `{"jsonrpc":"2.0","method":"message","params":{"channel":"` + ch + `","epoch":"` + epoch +
		`","offset":` + itoa(off) + `,"data":` + data + `}}`
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func TestConnectSubscribeSnapshotAndPublications(t *testing.T) {
	h := newHarness(t, nil)
	connected := make(chan error, 1)
	h.c.Connect(func(err error) { connected <- err })
	conn := h.handshake(t, "tok1")
	require.NoError(t, <-connected)

	r := newResult()
	h.c.Subscribe("devices", SubscribeOptions{Mode: "latest"}, r.done)
	req := conn.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	require.Equal(t, "devices", str(req.Get("params"), "channel"))
	require.Equal(t, "latest", str(req.Get("params"), "mode"))
	require.Equal(t, Missing, req.Get("params").Get("since").Kind())
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":10,"recovered":false,"snapshot":[`+reading1+`]}`)
	res, err := r.get(t)
	require.NoError(t, err)
	require.Equal(t, "e1", str(res, "epoch"))
	ev := h.ev.wait(t, kind(EvDevice))
	require.Equal(t, "kitchen", ev.Device.ID)
	require.Equal(t, 21.5, ev.Device.Metrics["temperature"].Num)
	sub := h.ev.wait(t, kind(EvSubscribed))
	require.False(t, sub.Recovered)

	conn.h.Message(pub("devices", "e1", 11, `{"device":"kitchen","ts":"2026-11-23T17:00:05Z","metrics":{"temperature":22}}`))
	ev = h.ev.wait(t, kind(EvDevice))
	require.Equal(t, 22.0, ev.Device.Metrics["temperature"].Num)
	require.Equal(t, 48.0, ev.Device.Metrics["humidity"].Num, "metrics merge per key")
	p := h.ev.wait(t, kind(EvPublication))
	require.Equal(t, int64(11), p.Offset)

	// A duplicate (offset not after the last seen) is dropped; the next is not.
	conn.h.Message(pub("devices", "e1", 11, `{"device":"dup"}`))
	conn.h.Message(pub("devices", "e1", 12, `{"device":"kitchen","metrics":{"battery":90}}`))
	p = h.ev.wait(t, kind(EvPublication))
	require.Equal(t, int64(12), p.Offset)

	done := make(chan []Device, 1)
	h.c.Devices(func(ds []Device) { done <- ds })
	ds := <-done
	require.Len(t, ds, 1)
	require.Equal(t, 90.0, ds[0].Metrics["battery"].Num)
}

func TestReconnectResubscribesWithSince(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":4,"recovered":false,"snapshot":[`+reading1+`]}`)
	h.ev.wait(t, kind(EvSubscribed))
	conn.h.Message(pub("devices", "e1", 5, `{"device":"kitchen","metrics":{"temperature":23}}`))
	h.ev.wait(t, kind(EvPublication))

	// A publish in flight when the connection drops fails with "connection lost".
	r := newResult()
	h.c.Publish("app:x", Wrap(map[string]any{"a": 1.0}), r.done)
	preq := conn.next(t)
	require.Equal(t, "publish", str(preq, "method"))
	require.Equal(t, 1.0, preq.Get("params").Get("data").Get("a").Float())

	conn.h.Closed(1006, "")
	_, err := r.get(t)
	require.ErrorIs(t, err, ErrConnectionLost)
	st := h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.Attempt == 1 })
	require.Equal(t, StateConnecting, st.State)
	require.Equal(t, 1006, st.Code)
	require.Equal(t, int64(5), st.DelayMs)

	// Late events of the old socket are ignored.
	conn.h.Message(pub("devices", "e1", 99, `{"device":"ghost"}`))

	conn2 := h.handshake(t, "tok1")
	req = conn2.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	since := req.Get("params").Get("since")
	require.Equal(t, "e1", str(since, "epoch"))
	require.Equal(t, 5.0, since.Get("offset").Float())
	// Recovered publications come before the result.
	conn2.h.Message(pub("devices", "e1", 6, `{"device":"kitchen","metrics":{"temperature":24}}`))
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":6,"recovered":true}`)
	p := h.ev.wait(t, kind(EvPublication))
	require.Equal(t, int64(6), p.Offset)
	sub := h.ev.wait(t, kind(EvSubscribed))
	require.True(t, sub.Recovered)

	done := make(chan []Device, 1)
	h.c.Devices(func(ds []Device) { done <- ds })
	ds := <-done
	require.Len(t, ds, 1, "the ghost publication of the old socket was dropped")
	require.Equal(t, 24.0, ds[0].Metrics["temperature"].Num)
}

func TestSnapshotReplacesDevices(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":1,"recovered":false,"snapshot":[`+reading1+`]}`)
	h.ev.wait(t, kind(EvSubscribed))

	conn.h.Closed(1001, "going away")
	conn2 := h.handshake(t, "tok1")
	req = conn2.next(t)
	// The history was lost (new epoch): the snapshot replaces the state.
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"e2","offset":0,"recovered":false,"snapshot":[{"device":"hall","metrics":{"co2":500}}]}`)
	rm := h.ev.wait(t, kind(EvDeviceRemoved))
	require.Equal(t, "kitchen", rm.DeviceID)
	d := h.ev.wait(t, kind(EvDevice))
	require.Equal(t, "hall", d.Device.ID)
}

func TestLaggedResubscribesSince(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":40,"recovered":false,"snapshot":[]}`)
	h.ev.wait(t, kind(EvSubscribed))
	conn.h.Message(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"devices","offset":40}}`)
	lag := h.ev.wait(t, kind(EvLagged))
	require.Equal(t, int64(40), lag.Offset)
	req = conn.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	require.Equal(t, 40.0, req.Get("params").Get("since").Get("offset").Float())
}

func TestServerUnsubscribeEndsSubscription(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("device:a", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"device:a","epoch":"e1","offset":1,"recovered":false,"snapshot":[]}`)
	h.ev.wait(t, kind(EvSubscribed))
	conn.h.Message(`{"jsonrpc":"2.0","method":"unsubscribed","params":{"channel":"device:a","reason":"permission"}}`)
	ev := h.ev.wait(t, kind(EvError))
	require.Equal(t, "device:a", ev.Channel)
	require.Equal(t, CodePermissionDenied, ev.Err.(*Error).Code)
	// A lagged for it now is ignored: the subscription is gone, no re-subscribe.
	conn.h.Message(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"device:a","offset":1}}`)
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req = conn.next(t)
	require.Equal(t, "devices", str(req.Get("params"), "channel"))
}

func TestUnauthorizedStops(t *testing.T) {
	for _, code := range []int{CodeUnauthorized, CodePermissionDenied} {
		h := newHarness(t, nil)
		errc := make(chan error, 1)
		h.c.Connect(func(err error) { errc <- err })
		conn := h.tr.nextDial(t)
		conn.h.Open()
		req := conn.next(t)
		conn.replyErr(req.Get("id"), code, "unauthorized")
		err := <-errc
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, code, e.Code)
		dis := h.ev.wait(t, kind(EvDisconnected))
		require.Equal(t, code, dis.Code)
		require.True(t, conn.isClosed())
		h.tr.noDial(t, 100*time.Millisecond)
	}
}

func TestTokenExpiredRefreshes(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, func(c *Config) {
		c.Token = ""
		c.GetToken = func() (string, error) {
			n := calls.Add(1)
			return "tok" + itoa(int(n)), nil
		}
	})
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	// The server ends the session because the token expired: 4010 close.
	conn.h.Closed(CodeTokenExpired, "token expired")
	h.handshake(t, "tok2")
	require.Equal(t, int32(2), calls.Load())
}

func TestServerDisconnectWithoutReconnect(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	conn.h.Message(`{"jsonrpc":"2.0","method":"disconnect","params":{"code":4003,"reason":"signed out by admin","reconnect":false}}`)
	dis := h.ev.wait(t, kind(EvDisconnected))
	require.Equal(t, "signed out by admin", dis.Reason)
	h.tr.noDial(t, 100*time.Millisecond)
}

func TestErrorBeforeOpenRetries(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.tr.nextDial(t)
	// Node 20's WebSocket: error on a refused dial, and never a close.
	conn.h.Error("ECONNREFUSED")
	st := h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.Attempt == 1 })
	require.Equal(t, StateConnecting, st.State)
	h.handshake(t, "tok1")
}

func TestConnectTimeoutRetries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timeout = 50 })
	h.c.Connect(nil)
	h.tr.nextDial(t) // never opens
	st := h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.Attempt == 1 })
	require.Equal(t, "connect timeout", st.Reason)
	h.tr.nextDial(t)
}

func TestRequestsQueueUntilConnectedAndTimeOut(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timeout = 300 })
	// Not wanting a connection: rejected at once.
	r := newResult()
	h.c.Ping(r.done)
	_, err := r.get(t)
	require.ErrorIs(t, err, ErrDisconnected)

	h.c.Connect(nil)
	conn := h.tr.nextDial(t)
	r = newResult()
	h.c.History("devices", HistoryOptions{Limit: 5, Since: &Position{Epoch: "e", Offset: 3}}, r.done)
	conn.h.Open()
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"session":"s"}`)
	require.Equal(t, "ping", str(conn.next(t), "method"), "the clock-sync ping goes first")
	req = conn.next(t)
	require.Equal(t, "history", str(req, "method"))
	require.Equal(t, 5.0, req.Get("params").Get("limit").Float())
	require.Equal(t, "e", str(req.Get("params").Get("since"), "epoch"))
	conn.reply(req.Get("id"), `{"publications":[],"epoch":"e","complete":true}`)
	v, err := r.get(t)
	require.NoError(t, err)
	require.True(t, v.Get("complete").Truth())

	// No answer: the request times out.
	r = newResult()
	h.c.Presence("devices", r.done)
	conn.next(t)
	_, err = r.get(t)
	require.ErrorIs(t, err, ErrTimeout)
}

func TestSubscribeErrorDropsSubscription(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	r := newResult()
	h.c.Subscribe("monitor", SubscribeOptions{}, r.done)
	req := conn.next(t)
	conn.replyErr(req.Get("id"), CodePermissionDenied, "permission denied")
	_, err := r.get(t)
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodePermissionDenied, e.Code)
	h.ev.wait(t, kind(EvSubscribeError))
	// After a reconnect the dropped channel is not replayed.
	conn.h.Closed(1006, "")
	conn2 := h.handshake(t, "tok1")
	r = newResult()
	h.c.Ping(r.done)
	require.Equal(t, "ping", str(conn2.next(t), "method"))
}

func TestUnsubscribe(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	for _, ch := range []string{"device:a", "device:b"} {
		h.c.Subscribe(ch, SubscribeOptions{}, nil)
		req := conn.next(t)
		require.Equal(t, ch, str(req.Get("params"), "channel"))
		conn.reply(req.Get("id"), `{"channel":"`+ch+`","epoch":"e","offset":0,"recovered":false,"snapshot":[]}`)
		h.ev.wait(t, func(e Event) bool { return e.Kind == EvSubscribed && e.Channel == ch })
	}
	r := newResult()
	h.c.Unsubscribe("device:a", r.done)
	req := conn.next(t)
	require.Equal(t, "unsubscribe", str(req, "method"))
	require.Equal(t, "device:a", str(req.Get("params"), "channel"))
	conn.reply(req.Get("id"), `{}`)
	_, err := r.get(t)
	require.NoError(t, err)
	// Publications of a channel no longer wanted are dropped. The client
	// handles frames in order, so once the publication of device:b (still
	// subscribed) has been reported, one of device:a would have been too.
	conn.h.Message(pub("device:a", "e", 1, `{"device":"a","metrics":{"t":1}}`))
	conn.h.Message(pub("device:b", "e", 1, `{"device":"b","metrics":{"t":1}}`))
	h.ev.wait(t, func(e Event) bool {
		if (e.Kind == EvPublication && e.Channel == "device:a") || (e.Kind == EvDevice && e.Device.ID == "a") {
			t.Fatalf("event %d for device:a after unsubscribe", e.Kind)
		}
		return e.Kind == EvPublication && e.Channel == "device:b"
	})
}

func TestBadFramesReportErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	conn.h.Message(`{not json`)
	h.ev.wait(t, kind(EvError))
	conn.h.Message(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`)
	ev := h.ev.wait(t, kind(EvError))
	require.Equal(t, -32700, ev.Err.(*Error).Code)
}

func TestWatchdog(t *testing.T) {
	iv, slack := 10*Second, 5*Second
	require.Equal(t, watchOK, watchdog(Second, iv, slack))
	require.Equal(t, watchPing, watchdog(5*Second, iv, slack))
	require.Equal(t, watchPing, watchdog(15*Second, iv, slack))
	require.Equal(t, watchDead, watchdog(16*Second, iv, slack))
}

func TestWatchdogReconnectsSilentConnection(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxServerPingDelay = 50 })
	h.c.Connect(nil)
	conn := h.tr.nextDial(t)
	conn.h.Open()
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"session":"s","ping_interval_ms":200}`)
	// The client pings, nobody answers, and it reconnects.
	require.Equal(t, "ping", str(conn.next(t), "method"))
	st := h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.Attempt == 1 })
	require.Equal(t, "no traffic from server", st.Reason)
	h.tr.nextDial(t)
}

func TestRefreshDelay(t *testing.T) {
	require.Equal(t, 54*Minute, refreshDelay(60*Minute))
	require.Equal(t, 4*Minute, refreshDelay(5*Minute))
	require.Equal(t, Second, refreshDelay(10*Second))
}

func TestCloseFailsPendingAndStops(t *testing.T) {
	h := newHarness(t, nil)
	r := newResult()
	h.c.Connect(nil)
	h.tr.nextDial(t)
	h.c.Subscribe("devices", SubscribeOptions{}, r.done)
	h.c.Close()
	_, err := r.get(t)
	require.ErrorIs(t, err, ErrClosed)
	<-h.c.Done()
	r = newResult()
	h.c.Ping(r.done)
	_, err = r.get(t)
	require.ErrorIs(t, err, ErrClosed)
}
