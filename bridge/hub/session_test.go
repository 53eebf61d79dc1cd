package hub

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestStreamDeliversInOrder(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 8})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	for i := uint64(1); i <= 5; i++ {
		h.Deliver("acme", pub("devices", i, `{}`))
	}
	require.Equal(t, []string{"devices:1", "devices:2", "devices:3", "devices:4", "devices:5"}, describe(t, ready(t, s)))
	require.Empty(t, ready(t, s))
}

func TestStreamFramesAreShared(t *testing.T) {
	h, _ := newHub(Config{})
	a, b := session(t, h, "a", "acme"), session(t, h, "b", "acme")
	subscribe(t, h, a, "devices", SubOptions{})
	subscribe(t, h, b, "devices", SubOptions{Mode: wire.ModeStream})
	p := pub("devices", 1, `{"x":1}`)
	h.Deliver("acme", p)
	fa, fb := ready(t, a), ready(t, b)
	require.Len(t, fa, 1)
	require.Len(t, fb, 1)
	require.Same(t, &p.Frame[0], &fa[0].Data[0], "the frame is built once and shared")
	require.Same(t, &p.Frame[0], &fb[0].Data[0])
}

func TestStreamOverflowDropsOnlyThatChannel(t *testing.T) {
	h, m := newHub(Config{QueueSize: 4})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	subscribe(t, h, s, "app:x", SubOptions{})
	h.Deliver("acme", pub("devices", 1, `{}`))
	require.Equal(t, []string{"devices:1"}, describe(t, ready(t, s)))

	h.Deliver("acme", pub("devices", 2, `{}`))
	h.Deliver("acme", pub("app:x", 7, `{}`))
	h.Deliver("acme", pub("devices", 3, `{}`))
	h.Deliver("acme", pub("app:x", 8, `{}`))
	s.Send(response(5))
	h.Deliver("acme", pub("devices", 4, `{}`)) // queue full: devices overflows
	h.Deliver("acme", pub("devices", 5, `{}`)) // room again: the subscription stays live
	require.Equal(t, []string{"app:x:7", "app:x:8", "resp 5", "lagged devices@1", "devices:5"}, describe(t, ready(t, s)),
		"devices 2..4 are dropped, lagged says 1 was the last delivered, app:x is untouched")
	require.Equal(t, 1.0, testutil.ToFloat64(m.Lagged))
	require.False(t, s.Closing())
}

func TestStreamOverflowBeforeAnythingDelivered(t *testing.T) {
	// The subscribe result said offset 10; 11..14 fill the queue and 15
	// overflows. The client has everything up to 10, so lagged says 10.
	h, _ := newHub(Config{QueueSize: 4})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	s.Send(response(1))
	for i := uint64(11); i <= 15; i++ {
		h.Deliver("acme", pub("devices", i, `{}`))
	}
	require.Equal(t, []string{"resp 1", "lagged devices@10"}, describe(t, ready(t, s)))
}

func TestStreamOverflowKeepsRecovered(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 2})
	s := session(t, h, "s1", "acme")
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	require.Equal(t, "devices", sub.Channel())
	var recovered []*state.Publication
	for i := uint64(5); i <= 8; i++ {
		recovered = append(recovered, pub("devices", i, `{}`))
	}
	s.Recover(sub, recovered, wire.StreamPosition{Epoch: "e1", Offset: 8}, response(1))
	h.Deliver("acme", pub("devices", 9, `{}`))
	h.Deliver("acme", pub("devices", 10, `{}`))
	h.Deliver("acme", pub("devices", 11, `{}`)) // overflow
	require.Equal(t, []string{"devices:5", "devices:6", "devices:7", "devices:8", "resp 1", "lagged devices@8"}, describe(t, ready(t, s)),
		"recovered publications do not count against the bound and are never dropped")
}

func TestStreamOverflowOneLaggedPerGap(t *testing.T) {
	h, m := newHub(Config{QueueSize: 2})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	subscribe(t, h, s, "app:busy", SubOptions{})
	h.Deliver("acme", pub("devices", 1, `{}`))
	require.Len(t, ready(t, s), 1)
	h.Deliver("acme", pub("app:busy", 1, `{}`))
	h.Deliver("acme", pub("app:busy", 2, `{}`))
	for i := uint64(2); i <= 50; i++ {
		h.Deliver("acme", pub("devices", i, `{}`)) // every one overflows
	}
	got := describe(t, ready(t, s))
	require.Equal(t, []string{"app:busy:1", "app:busy:2", "lagged devices@1"}, got,
		"one gap is announced once, however many publications fall into it")
	require.GreaterOrEqual(t, testutil.ToFloat64(m.Lagged), 1.0)
	h.Deliver("acme", pub("devices", 51, `{}`))
	require.Equal(t, []string{"devices:51"}, describe(t, ready(t, s)))
}

func TestSlowConsumerClosed4009(t *testing.T) {
	const timeout = 30 * time.Millisecond
	h, m := newHub(Config{QueueSize: 2, SlowConsumerTimeout: timeout})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	s.Send(response(1))
	start := time.Now()
	off := uint64(0)
	// The writer never runs: the queue overflows continuously.
	eventually(t, 5*time.Second, func() bool {
		off++
		h.Deliver("acme", pub("devices", off, `{}`))
		return s.Closing()
	}, "a continuously overflowing stream session is closed")
	require.GreaterOrEqual(t, time.Since(start), timeout, "not before the timeout")
	require.Equal(t, 1.0, testutil.ToFloat64(m.SlowConsumers))

	got := describe(t, ready(t, s))
	require.GreaterOrEqual(t, len(got), 4)
	require.Equal(t, "resp 1", got[0], "a response queued before the close still goes out")
	require.Equal(t, "lagged devices@0", got[1])
	require.Equal(t, []string{"disconnect 4009", "close 4009"}, got[len(got)-2:])
	for _, g := range got[1 : len(got)-2] {
		require.Contains(t, g, "lagged", "no publication survives the close")
	}
	// Deliveries after the close go nowhere.
	h.Deliver("acme", pub("devices", off+1, `{}`))
	require.Empty(t, ready(t, s))
}

func TestSlowConsumerForgivenWhenWriterCatchesUp(t *testing.T) {
	const timeout = 40 * time.Millisecond
	// setup returns a fresh session and helpers that deliver one
	// publication, or enough to overflow its queue.
	setup := func(t *testing.T) (s *Session, deliver, overflow func()) {
		h, _ := newHub(Config{QueueSize: 2, SlowConsumerTimeout: timeout})
		s = session(t, h, "s1", "acme")
		subscribe(t, h, s, "devices", SubOptions{})
		off := uint64(0)
		deliver = func() {
			off++
			h.Deliver("acme", pub("devices", off, `{}`))
		}
		overflow = func() {
			for i := 0; i < 3; i++ {
				deliver()
			}
		}
		return s, deliver, overflow
	}

	t.Run("writer drains everything", func(t *testing.T) {
		s, deliver, overflow := setup(t)
		overflow()
		require.NotEmpty(t, ready(t, s))
		require.Empty(t, ready(t, s)) // idle: caught up
		start := time.Now()
		for time.Since(start) <= timeout {
			deliver()
			ready(t, s)
		}
		overflow()
		require.False(t, s.Closing())
	})

	t.Run("writer keeps up under steady traffic", func(t *testing.T) {
		s, deliver, overflow := setup(t)
		overflow()
		require.NotEmpty(t, ready(t, s))
		// Steady traffic: every time the writer comes back there is
		// something new, but the queue never overflows again until
		// well past the timeout.
		start := time.Now()
		for time.Since(start) <= 2*timeout {
			deliver()
			require.NotEmpty(t, ready(t, s))
		}
		overflow()
		require.False(t, s.Closing(), "one overflow long after the last is a new episode, not a slow consumer")
	})

	t.Run("overflow between every drain is slow", func(t *testing.T) {
		s, _, overflow := setup(t)
		overflow()
		start := time.Now()
		eventually(t, 5*time.Second, func() bool {
			ready(t, s) // the writer drains, but overflows happen in between
			overflow()
			return s.Closing()
		}, "a session that overflows between every drain is closed")
		require.GreaterOrEqual(t, time.Since(start), timeout)
	})
}

func TestLatestModeConflates(t *testing.T) {
	h, m := newHub(Config{QueueSize: 1, SlowConsumerTimeout: time.Millisecond})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{Mode: wire.ModeLatest})
	h.Deliver("acme", readingPub(t, "devices", 1, reading("th", t0, map[string]any{"temperature": 20.0, "humidity": 50.0})))
	h.Deliver("acme", readingPub(t, "devices", 2, reading("plug", t0, map[string]any{"power": 5.0})))
	h.Deliver("acme", readingPub(t, "devices", 3, reading("th", t0.Add(2*time.Second), map[string]any{"temperature": 22.0})))
	// An older Reading arrives late: it is counted but never moves the
	// device back in time.
	h.Deliver("acme", readingPub(t, "devices", 4, reading("th", t0.Add(time.Second), map[string]any{"temperature": 21.0, "battery": 90.0})))
	frames := ready(t, s)
	require.Len(t, frames, 2)
	require.Equal(t, 2.0, testutil.ToFloat64(m.Conflated), "three publications of th became one: two merges")

	th := message(t, frames[0])
	require.Equal(t, uint64(4), th.Offset, "the merged message carries the newest offset")
	require.Equal(t, 3, th.Conflated)
	require.Equal(t, "e1", th.Epoch)
	var r struct {
		Device  string         `json:"device"`
		TS      time.Time      `json:"ts"`
		Metrics map[string]any `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal(th.Data, &r))
	require.Equal(t, "th", r.Device)
	require.Equal(t, map[string]any{"temperature": 22.0, "humidity": 50.0}, r.Metrics)
	require.True(t, r.TS.Equal(t0.Add(2*time.Second)))

	plug := message(t, frames[1])
	require.Equal(t, uint64(2), plug.Offset)
	require.Zero(t, plug.Conflated, "a single publication is sent as it is")

	// Nothing else is waiting; a latest-mode session is never closed.
	require.Empty(t, ready(t, s))
	for i := uint64(5); i < 500; i++ {
		h.Deliver("acme", readingPub(t, "devices", i, reading("th", t0.Add(time.Duration(i)*time.Second), map[string]any{"n": float64(i)})))
	}
	require.False(t, s.Closing())
	frames = ready(t, s)
	require.Len(t, frames, 1)
	last := message(t, frames[0])
	require.Equal(t, uint64(499), last.Offset)
	require.Equal(t, 495, last.Conflated)
}

func TestLatestModeNonReadingPublications(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "app:x", SubOptions{Mode: wire.ModeLatest})
	h.Deliver("acme", pub("app:x", 1, `"a"`))
	h.Deliver("acme", pub("app:x", 2, `"b"`))
	frames := ready(t, s)
	require.Len(t, frames, 1)
	p := message(t, frames[0])
	require.Equal(t, uint64(2), p.Offset)
	require.Equal(t, 2, p.Conflated)
	require.JSONEq(t, `"b"`, string(p.Data), "without a Reading the newest data wins")
}

func TestLatestModeMaxRate(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	const hz = 20 // one message per device every 50ms
	subscribe(t, h, s, "devices", SubOptions{Mode: wire.ModeLatest, MaxRateHz: hz})
	interval := time.Second / hz

	h.Deliver("acme", readingPub(t, "devices", 1, reading("th", t0, map[string]any{"t": 1.0})))
	first := time.Now()
	require.Equal(t, []string{"devices:1"}, describe(t, ready(t, s)), "the first message of a device goes out at once")

	h.Deliver("acme", readingPub(t, "devices", 2, reading("th", t0.Add(time.Second), map[string]any{"t": 2.0})))
	h.Deliver("acme", readingPub(t, "devices", 3, reading("th", t0.Add(2*time.Second), map[string]any{"t": 3.0})))
	h.Deliver("acme", readingPub(t, "devices", 4, reading("plug", t0, map[string]any{"p": 1.0})))
	require.Equal(t, []string{"devices:4"}, describe(t, ready(t, s)), "another device is paced on its own")
	frames := ready(t, s)
	if len(frames) == 0 {
		frames = next(t, s, 5*time.Second) // Next wakes itself when th is due
	}
	require.GreaterOrEqual(t, time.Since(first), interval, "th waits for its interval")
	require.Len(t, frames, 1)
	p := message(t, frames[0])
	require.Equal(t, uint64(3), p.Offset)
	require.Equal(t, 2, p.Conflated)
	require.Contains(t, string(p.Data), `"t":3`)
}

func TestResubscribeDropsQueuedFrames(t *testing.T) {
	h, m := newHub(Config{QueueSize: 2})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	subscribe(t, h, s, "app:x", SubOptions{})
	h.Deliver("acme", pub("devices", 1, `{}`))
	h.Deliver("acme", pub("app:x", 1, `{}`))
	h.Deliver("acme", pub("devices", 2, `{}`)) // overflow: lagged queued
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{Mode: wire.ModeLatest})
	require.NoError(t, err)
	s.Recover(sub, []*state.Publication{pub("devices", 2, `{}`)}, wire.StreamPosition{Epoch: "e1", Offset: 2}, response(9))
	h.Deliver("acme", readingPub(t, "devices", 3, reading("th", t0, nil)))
	require.Equal(t, []string{"app:x:1", "devices:2", "resp 9", "devices:3"}, describe(t, ready(t, s)),
		"nothing queued for the old subscription survives a re-sync, lagged included")
	require.Equal(t, 2.0, testutil.ToFloat64(m.Subscriptions.WithLabelValues("acme")), "a re-subscribe is not a new subscription")

	// Latest-mode pending slots are dropped by a re-sync too.
	h.Deliver("acme", readingPub(t, "devices", 4, reading("th", t0, nil)))
	subscribe(t, h, s, "devices", SubOptions{})
	require.Empty(t, ready(t, s))
}

func TestUnsubscribe(t *testing.T) {
	h, m := newHub(Config{})
	s := session(t, h, "s1", "acme")
	old := subscribe(t, h, s, "devices", SubOptions{})
	subscribe(t, h, s, "device:a", SubOptions{Mode: wire.ModeLatest})
	require.True(t, s.Subscribed("devices"))
	require.Equal(t, 2, s.NumSubs())
	h.Deliver("acme", pub("devices", 1, `{}`))
	h.Deliver("acme", readingPub(t, "device:a", 1, reading("a", t0, nil)))
	require.True(t, h.Unsubscribe(s, "devices"))
	require.True(t, h.Unsubscribe(s, "device:a"))
	require.False(t, h.Unsubscribe(s, "devices"))
	require.False(t, h.Unsubscribe(s, "never"))
	require.False(t, s.Subscribed("devices"))
	require.Zero(t, s.NumSubs())
	require.False(t, h.HasSubscribers("acme", "devices"))
	require.Empty(t, ready(t, s), "frames queued before unsubscribe are dropped")
	h.Deliver("acme", pub("devices", 2, `{}`))
	s.Recover(old, []*state.Publication{pub("devices", 1, `{}`)}, wire.StreamPosition{}, nil)
	require.Empty(t, ready(t, s))
	require.Zero(t, testutil.ToFloat64(m.Subscriptions.WithLabelValues("acme")))
}

func TestCloseKeepsResponsesDropsPublications(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	subscribe(t, h, s, "device:a", SubOptions{Mode: wire.ModeLatest})
	s.Send(response(1))
	h.Deliver("acme", pub("devices", 1, `{}`))
	h.Deliver("acme", readingPub(t, "device:a", 1, reading("a", t0, nil)))
	s.Send(response(2))
	s.Close(wire.CloseSignedOut, "signed out by admin", true)
	s.Close(wire.CloseNormal, "second close is ignored", true)
	s.Send(response(3))
	h.Deliver("acme", pub("devices", 2, `{}`))
	require.True(t, s.Closing())

	frames := ready(t, s)
	require.Equal(t, []string{"resp 1", "resp 2", "disconnect 4003", "close 4003"}, describe(t, frames))
	var d wire.DisconnectParams
	require.NoError(t, json.Unmarshal(decode(t, frames[2]).Params, &d))
	require.Equal(t, wire.DisconnectParams{Code: wire.CloseSignedOut, Reason: "signed out by admin", Reconnect: false}, d)
	require.Equal(t, Frame{Close: true, Code: wire.CloseSignedOut, Reason: "signed out by admin"}, frames[3])

	// After the close frame there is nothing more to write.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	out, err := s.Next(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Empty(t, out)
}

func TestCloseWithoutNotification(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	s.Close(wire.CloseGoingAway, "draining", false)
	require.Equal(t, []Frame{{Close: true, Code: wire.CloseGoingAway, Reason: "draining"}}, ready(t, s))
}

func TestCloseTokenExpiredNotification(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	s.Close(wire.CloseTokenExpired, "token expired", true)
	frames := ready(t, s)
	require.Len(t, frames, 2)
	var d wire.DisconnectParams
	require.NoError(t, json.Unmarshal(decode(t, frames[0]).Params, &d))
	require.True(t, d.Reconnect, "refresh, then reconnect")
}

func TestReconnectable(t *testing.T) {
	for code, want := range map[int]bool{
		wire.CloseNormal: true, wire.CloseGoingAway: true, wire.ClosePolicy: false, wire.CloseTooBig: false,
		wire.CloseInternal: true, wire.CloseUnauthorized: false, wire.CloseSignedOut: false, wire.CloseTooSlow: true,
		wire.CloseTokenExpired: true, wire.CloseRateLimited: true,
	} {
		require.Equal(t, want, Reconnectable(code), "code %d", code)
	}
}

func TestNextWaitsAndWakes(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	out, err := s.Next(ctx, nil)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Empty(t, out)

	got := make(chan []Frame, 1)
	go func() {
		out, _ := s.Next(context.Background(), nil)
		got <- out
	}()
	h.Deliver("acme", pub("devices", 1, `{}`))
	select {
	case frames := <-got:
		require.Equal(t, []string{"devices:1"}, describe(t, frames))
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake up")
	}

	// Next appends to dst.
	h.Deliver("acme", pub("devices", 2, `{}`))
	out = ready(t, s)
	h.Deliver("acme", pub("devices", 3, `{}`))
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	out, _ = s.Next(ctx, out)
	require.Equal(t, []string{"devices:2", "devices:3"}, describe(t, out))
}

// TestSessionConcurrency runs deliveries, re-subscribes, sends and a
// writer at once; run with -race.
func TestSessionConcurrency(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 16, SlowConsumerTimeout: time.Hour})
	var sessions []*Session
	for i := 0; i < 8; i++ {
		s := session(t, h, "s"+itoa(i), "acme")
		mode := wire.ModeStream
		if i%2 == 1 {
			mode = wire.ModeLatest
		}
		subscribe(t, h, s, "devices", SubOptions{Mode: mode})
		sessions = append(sessions, s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for _, s := range sessions {
		writers.Add(1)
		go func() {
			defer writers.Done()
			var buf []Frame
			for {
				var err error
				buf, err = s.Next(ctx, buf[:0])
				if err != nil {
					return
				}
			}
		}()
	}
	var producers sync.WaitGroup
	for p := 0; p < 4; p++ {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for i := 0; i < 500; i++ {
				h.Deliver("acme", readingPub(t, "devices", uint64(p*1000+i), reading("d"+itoa(i%7), t0.Add(time.Duration(i)), map[string]any{"n": float64(i)})))
				if i%50 == 0 {
					s := sessions[i%len(sessions)]
					subscribe(t, h, s, "devices", SubOptions{Mode: wire.ModeLatest, MaxRateHz: 1000})
					s.Send(response(i))
					h.Presence("acme", "devices")
					h.HasSubscribers("acme", "devices")
				}
			}
		}()
	}
	producers.Wait()
	for _, s := range sessions {
		s.Close(wire.CloseNormal, "", true)
	}
	cancel()
	writers.Wait()
	for _, s := range sessions {
		h.Remove(s)
	}
	require.Zero(t, h.Len())
}

func TestNextBeforeReturnsIdleAtTheDeadline(t *testing.T) {
	h := New(Config{})
	s := h.NewSession("s1", "u", "t", "n")
	start := time.Now()
	frames, err := s.NextBefore(context.Background(), nil, start.Add(30*time.Millisecond))
	require.ErrorIs(t, err, ErrIdle)
	require.Empty(t, frames)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	s.Send([]byte(`{}`))
	frames, err = s.NextBefore(context.Background(), nil, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, frames, 1)
}

// TestTakeReturnsAtOnceWhenIdle: a writer that runs only while there is
// work (package ws) asks with Take; with nothing queued it gets ErrIdle
// at once, without waiting or keeping a timer.
func TestTakeReturnsAtOnceWhenIdle(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	frames, err := s.Take(context.Background(), nil)
	require.ErrorIs(t, err, ErrIdle)
	require.Empty(t, frames)
	require.False(t, s.Pending())
	s.Send([]byte(`{"a":1}`))
	require.True(t, s.Pending())
	frames, err = s.Take(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, frames, 1)
	_, err = s.Take(context.Background(), frames[:0])
	require.ErrorIs(t, err, ErrIdle)
	require.Nil(t, s.timer, "an idle session keeps no timer")
}

// TestTakeWaitsForARateCappedSlot: a latest-mode slot held back by its
// rate cap is not idleness. Take blocks until it is due, so that a writer
// ending at ErrIdle never leaves one behind (nor spins on Pending), and a
// frame of another channel that arrives meanwhile ends the wait at once.
func TestTakeWaitsForARateCappedSlot(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	const hz = 2 // one message per device every 500ms
	subscribe(t, h, s, "devices", SubOptions{Mode: wire.ModeLatest, MaxRateHz: hz})
	subscribe(t, h, s, "app:x", SubOptions{})
	h.Deliver("acme", readingPub(t, "devices", 1, reading("th", t0, map[string]any{"t": 1.0})))
	first := time.Now()
	frames, err := s.Take(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"devices:1"}, describe(t, frames))
	h.Deliver("acme", readingPub(t, "devices", 2, reading("th", t0.Add(time.Second), map[string]any{"t": 2.0})))
	require.True(t, s.Pending(), "a slot waiting for its rate cap is pending")

	// Another channel's publication during the wait ends it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		h.Deliver("acme", pub("app:x", 1, `"x"`))
	}()
	frames, err = s.Take(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"app:x:1"}, describe(t, frames))
	require.Less(t, time.Since(first), time.Second/hz, "the other channel did not wait for the slot")

	frames, err = s.Take(context.Background(), nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(first), time.Second/hz, "the slot waited for its interval")
	require.Equal(t, []string{"devices:2"}, describe(t, frames))
	_, err = s.Take(context.Background(), nil)
	require.ErrorIs(t, err, ErrIdle)

	// A wait ends with the writer's context too.
	h.Deliver("acme", readingPub(t, "devices", 3, reading("th", t0.Add(2*time.Second), map[string]any{"t": 3.0})))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Take(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestPingGoesThroughTheQueue: a keep-alive ping is a frame of the
// session's like the others, handed out before what is queued, once
// however often it was asked for; it wakes a waiting writer; a closing
// session sends none.
func TestPingGoesThroughTheQueue(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	woken := 0
	s.SetWaker(func(urgent bool) {
		require.True(t, urgent, "a reply or a ping is urgent")
		woken++
	})
	s.Send([]byte(`{"a":1}`))
	s.Ping()
	s.Ping()
	require.Equal(t, 1, woken, "one wake-up until the writer takes the queue")
	frames := ready(t, s)
	require.Len(t, frames, 2)
	require.True(t, frames[0].Ping)
	require.Equal(t, `{"a":1}`, string(frames[1].Data))
	require.False(t, s.Pending())

	got := make(chan []Frame)
	go func() {
		out, _ := s.Next(context.Background(), nil)
		got <- out
	}()
	time.Sleep(20 * time.Millisecond)
	s.Ping()
	select {
	case out := <-got:
		require.Len(t, out, 1)
		require.True(t, out[0].Ping)
	case <-time.After(5 * time.Second):
		t.Fatal("a ping did not wake the waiting writer")
	}

	s.Close(wire.CloseNormal, "", false)
	s.Ping()
	for _, f := range ready(t, s) {
		require.False(t, f.Ping, "a closing session sends no ping")
	}
}

// subscribedWithWaker is a session subscribed to devices whose wake-ups
// from then on are recorded in *wakes (true: urgent).
func subscribedWithWaker(t *testing.T, h *Hub) (s *Session, wakes *[]bool) {
	t.Helper()
	s = session(t, h, "s1", "acme")
	wakes = new([]bool)
	s.SetWaker(func(urgent bool) { *wakes = append(*wakes, urgent) })
	subscribe(t, h, s, "devices", SubOptions{})
	ready(t, s) // the subscribe result
	*wakes = nil
	return s, wakes
}

// TestUrgentWakeUp: publications wake the writer as not urgent (package
// ws may hold a hot socket's batch back); a reply after them wakes it
// again as urgent, once, so that it is not held back with them.
func TestUrgentWakeUp(t *testing.T) {
	h, _ := newHub(Config{})
	s, wakes := subscribedWithWaker(t, h)
	h.Deliver("acme", pub("devices", 1, `{}`))
	h.Deliver("acme", pub("devices", 2, `{}`))
	require.Equal(t, []bool{false}, *wakes)
	s.Send([]byte(`{"id":1}`))
	s.Pong([]byte("p"))
	h.Deliver("acme", pub("devices", 3, `{}`))
	require.Equal(t, []bool{false, true}, *wakes, "one urgent wake-up after the publications'")
	require.Len(t, ready(t, s), 5)
	s.Send([]byte(`{"id":2}`))
	require.Equal(t, []bool{false, true, true}, *wakes)
}

// TestHalfFullStreamQueueWakesUrgently: publications that fill half a
// stream queue wake the writer urgently, so a writer held back to batch
// cannot make a reader that keeps up overflow (lagged, then 4009); the
// writer can tell (UrgentPending) until it takes the queue.
func TestHalfFullStreamQueueWakesUrgently(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 4})
	s, wakes := subscribedWithWaker(t, h)
	h.Deliver("acme", pub("devices", 1, `{}`))
	require.Equal(t, []bool{false}, *wakes)
	require.False(t, s.UrgentPending())
	h.Deliver("acme", pub("devices", 2, `{}`))
	require.Equal(t, []bool{false, true}, *wakes, "two of four slots queued")
	require.True(t, s.UrgentPending())
	h.Deliver("acme", pub("devices", 3, `{}`))
	require.Equal(t, []bool{false, true}, *wakes, "one urgent wake-up until the writer takes the queue")
	require.Len(t, ready(t, s), 3)
	require.False(t, s.UrgentPending())
}

// TestRearmLetsTheNextDeliveryWakeAWriter: a wake-up with nothing to
// write (Recover without publications or a result) while a writer runs
// must not keep later deliveries from waking the next one once that
// writer ends with Rearm. With Pending instead, the delivery saw the
// wake-up flag still set, woke nobody, and the socket was never written
// again.
func TestRearmLetsTheNextDeliveryWakeAWriter(t *testing.T) {
	h, _ := newHub(Config{})
	s := session(t, h, "s1", "acme")
	woken := 0
	s.SetWaker(func(bool) { woken++ })
	sub, err := h.Subscribe(context.Background(), s, "app:x", SubOptions{})
	require.NoError(t, err)
	// A writer runs (it took the connect result) when Recover queues
	// nothing and wakes it all the same.
	s.Send([]byte(`{"connected":true}`))
	require.Len(t, ready(t, s), 1)
	s.Recover(sub, nil, wire.StreamPosition{Epoch: "e1"}, nil)
	require.Equal(t, 2, woken)
	require.False(t, s.Rearm(), "nothing to write: the writer ends")
	h.Deliver("acme", pub("app:x", 1, `1`))
	require.Equal(t, 3, woken, "the delivery after the writer ended woke a new one")
	require.True(t, s.Rearm(), "the publication waits")
	require.Len(t, ready(t, s), 1)
}
