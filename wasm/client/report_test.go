//go:build !js

package client

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// manualClock is a FineClock whose time moves only when the test says;
// advance fires the timers that became due, in order.
type manualClock struct {
	mu     sync.Mutex
	now    float64
	timers []*manualTimer
}

type manualTimer struct {
	at      float64
	f       func()
	stopped bool
}

func (c *manualClock) Now() int64 { return int64(c.NowFine()) }

func (c *manualClock) NowFine() float64 { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) set(ms float64) { c.mu.Lock(); c.now = ms; c.mu.Unlock() }

func (c *manualClock) AfterFunc(ms int64, f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{at: c.now + float64(ms), f: f}
	c.timers = append(c.timers, t)
	return func() { c.mu.Lock(); t.stopped = true; c.mu.Unlock() }
}

func (c *manualClock) advance(ms float64) {
	c.mu.Lock()
	c.now += ms
	var due []*manualTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case t.at <= c.now:
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// stats waits for the actor to work off everything queued so far and
// returns its latency statistics.
func (h *harness) stats(t *testing.T) LatencyStats {
	t.Helper()
	ch := make(chan LatencyStats, 1)
	h.c.Latency(func(s LatencyStats) { ch <- s })
	select {
	case s := <-ch:
		return s
	case <-time.After(waitFor):
		t.Fatal("actor stalled")
	}
	return LatencyStats{}
}

// noFrame asserts the client sent nothing more (call after stats, which
// flushes the actor).
func (c *scriptConn) noFrame(t *testing.T) {
	t.Helper()
	select {
	case f := <-c.sent:
		t.Fatalf("unexpected frame %s", f)
	default:
	}
}

// t0 is when the tests' client pings: 2026-11-23T17:00:00Z on its clock.
var t0 = float64(parseTime("2026-11-23T17:00:00Z"))

func readingAt(receivedAt string) string {
	return `{"device":"kitchen","family":"zigbee2mqtt","ts":"` + receivedAt + `","received_at":"` + receivedAt + `","metrics":{"t":1}}`
}

// syncedHarness is connected and subscribed to "devices", with a clock
// offset of exactly −500 ms (the server clock is behind) from a 4 ms ping.
func syncedHarness(t *testing.T, mod func(*Config)) (*harness, *manualClock, *scriptConn) {
	t.Helper()
	clk := &manualClock{now: t0}
	h := newHarness(t, func(c *Config) {
		c.Clock = clk
		c.ReportInterval = 1000
		if mod != nil {
			mod(c)
		}
	})
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	warmUp(t, h, clk, conn, -500, 4)
	st := h.stats(t)
	require.True(t, st.OffsetKnown)
	require.Equal(t, -500.0, st.OffsetMs)
	require.Equal(t, 4.0, st.RTTMs)
	subscribeDevices(t, h, conn, "e1", 0)
	return h, clk, conn
}

// answerPing lets rtt ms pass and answers ping req as a server whose clock
// is offset ms ahead, stamping the middle of the round trip.
func answerPing(clk *manualClock, conn *scriptConn, req Value, offset, rtt float64) {
	clk.advance(rtt)
	server := clk.NowFine() - rtt/2 + offset
	conn.reply(req.Get("id"), `{"time_ms":`+strconv.FormatFloat(server, 'f', -1, 64)+`}`)
}

// warmUp answers the sync ping after connect and the warm-up pings that
// follow it, all with the same offset and round trip.
func warmUp(t *testing.T, h *harness, clk *manualClock, conn *scriptConn, offset, rtt float64) {
	t.Helper()
	answerPing(clk, conn, conn.syncPing, offset, rtt)
	for range warmupPings - 1 {
		h.stats(t) // the next warm-up ping is scheduled
		clk.advance(float64(warmupGap))
		req := conn.next(t)
		require.Equal(t, "ping", str(req, "method"))
		answerPing(clk, conn, req, offset, rtt)
	}
	h.stats(t)
	clk.advance(float64(warmupGap))
	h.stats(t)
	conn.noFrame(t) // warm-up done
}

func subscribeDevices(t *testing.T, h *harness, conn *scriptConn, epoch string, off int) {
	t.Helper()
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"`+epoch+`","offset":`+itoa(off)+`,"recovered":false,"snapshot":[]}`)
	h.ev.wait(t, kind(EvSubscribed))
}

// nextReport returns the next frame, which must be a report, and its counts.
func nextReport(t *testing.T, conn *scriptConn) (Value, []uint64, float64) {
	t.Helper()
	req := conn.next(t)
	require.Equal(t, "report", str(req, "method"))
	lat := req.Get("params").Get("latency")
	counts := make([]uint64, lat.Get("counts").Len())
	for i := range counts {
		counts[i] = uint64(lat.Get("counts").Index(i).Float())
	}
	return req, counts, lat.Get("sum").Float()
}

func TestLatencyMeasuredAgainstOffsetAndReported(t *testing.T) {
	h, clk, conn := syncedHarness(t, nil)

	// Received by the bridge at server time t0+1000, handed to the page at
	// client time t0+1507.5: 7.5 ms with the −500 ms offset.
	clk.set(t0 + 1507.5)
	conn.h.Message(pub("devices", "e1", 1, readingAt("2026-11-23T17:00:01Z")))
	// A received_at ahead of the corrected client clock counts as 0.
	conn.h.Message(pub("devices", "e1", 2, readingAt("2026-11-23T17:00:01.2Z")))
	// Not a Reading: not measured.
	conn.h.Message(pub("devices", "e1", 3, `{"device":"kitchen","metrics":{"t":2}}`))
	st := h.stats(t)
	require.Equal(t, uint64(2), st.Count)
	require.Equal(t, uint64(2), st.Pending)
	require.Equal(t, uint64(1), st.Histogram.Counts[0])
	require.Equal(t, uint64(1), st.Histogram.Counts[3])
	require.InDelta(t, 1.0, st.P50, 1e-9)
	require.InDelta(t, 9.9, st.P99, 1e-9)
	conn.noFrame(t)

	// The interval passes: the delta goes out. The server fails it (rate
	// limited): the samples stay for the next report.
	clk.advance(1000)
	req, counts, sum := nextReport(t, conn)
	require.Equal(t, []uint64{1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, counts)
	require.InDelta(t, 0.0075, sum, 1e-12)
	conn.replyErr(req.Get("id"), CodeRateLimited, "slow down")
	require.Equal(t, uint64(2), h.stats(t).Pending)

	// The next one goes through; a sample measured while it is in flight
	// is not cleared by its acknowledgement.
	clk.advance(1000)
	req, counts, _ = nextReport(t, conn)
	require.Equal(t, uint64(1), counts[3])
	// Now t0+3507.5: received at server time t0+2977.5 is 30 ms.
	conn.h.Message(pub("devices", "e1", 4, readingAt("2026-11-23T17:00:02.9775Z")))
	h.stats(t)        // measured before the clock moves on
	clk.advance(1000) // one report at a time: nothing is sent meanwhile
	h.stats(t)
	conn.noFrame(t)
	conn.reply(req.Get("id"), `{}`)
	st = h.stats(t)
	require.Equal(t, uint64(2), st.Reported)
	require.Equal(t, uint64(1), st.Pending)
	require.Equal(t, uint64(3), st.Count)

	clk.advance(1000)
	req, counts, sum = nextReport(t, conn)
	require.Equal(t, []uint64{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, counts, "30 ms is in (25, 50]")
	require.InDelta(t, 0.030, sum, 1e-6)
	conn.reply(req.Get("id"), `{}`)
	require.Equal(t, uint64(0), h.stats(t).Pending)

	// Nothing new: no report.
	clk.advance(3000)
	h.stats(t)
	conn.noFrame(t)
}

func TestLatencyReportSurvivesReconnect(t *testing.T) {
	h, clk, conn := syncedHarness(t, nil)
	clk.set(t0 + 1503)
	conn.h.Message(pub("devices", "e1", 1, readingAt("2026-11-23T17:00:01Z")))
	h.stats(t) // measured before the clock moves on
	clk.advance(1000)
	nextReport(t, conn)

	// The connection drops with the report unanswered: it failed, the
	// samples are kept and go out on the next connection.
	conn.h.Closed(1006, "")
	h.ev.wait(t, func(e Event) bool { return e.Kind == EvState && e.Attempt == 1 })
	h.stats(t)     // the reconnect timer is armed
	clk.advance(5) // the backoff (Rand is 0: MinReconnectDelay)
	conn2 := h.handshake(t, "tok1")
	req := conn2.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	require.Equal(t, uint64(1), h.stats(t).Pending)

	// A recovered publication (before the subscribe result) is old by
	// design and not measured; the offset estimate of the previous
	// connection is still used until the new sync ping returns.
	conn2.h.Message(pub("devices", "e1", 2, readingAt("2026-11-23T17:00:01Z")))
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":2,"recovered":true}`)
	h.ev.wait(t, kind(EvSubscribed))
	conn2.h.Message(pub("devices", "e1", 3, readingAt("2026-11-23T17:00:01.5Z")))
	st := h.stats(t)
	require.Equal(t, uint64(2), st.Count)
	require.Equal(t, uint64(2), st.Pending)

	clk.advance(1000)
	req, counts, _ := nextReport(t, conn2)
	require.Equal(t, uint64(1), counts[2], "3 ms, measured on the first connection")
	require.Equal(t, uint64(1), counts[9], "508 ms, on the second")
	conn2.reply(req.Get("id"), `{}`)
	st = h.stats(t)
	require.Equal(t, uint64(2), st.Reported)
	require.Zero(t, st.Pending)
}

func TestLatencyReportRefusals(t *testing.T) {
	h, clk, conn := syncedHarness(t, nil)
	clk.set(t0 + 1503)
	conn.h.Message(pub("devices", "e1", 1, readingAt("2026-11-23T17:00:01Z")))

	// An older bridge without report: stop reporting on this connection,
	// keep the samples.
	clk.advance(1000)
	req, _, _ := nextReport(t, conn)
	conn.replyErr(req.Get("id"), CodeMethodNotFound, "method not found")
	clk.advance(3000)
	require.Equal(t, uint64(1), h.stats(t).Pending)
	conn.noFrame(t)

	// A bridge that refuses the report as invalid will always refuse it:
	// the samples are dropped and the application hears about it.
	conn.h.Closed(1006, "")
	h.stats(t)
	clk.advance(5)
	conn2 := h.handshake(t, "tok1")
	conn2.next(t) // subscribe
	clk.advance(1000)
	req, _, _ = nextReport(t, conn2)
	conn2.replyErr(req.Get("id"), CodeInvalidParams, "invalid params")
	ev := h.ev.wait(t, kind(EvError))
	require.Equal(t, CodeInvalidParams, ev.Err.(*Error).Code)
	st := h.stats(t)
	require.Zero(t, st.Pending)
	require.Zero(t, st.Reported)
	require.Equal(t, uint64(1), st.Count)
}

func TestLatencyReportingDisabled(t *testing.T) {
	h, clk, conn := syncedHarness(t, func(c *Config) { c.ReportInterval = -1 })
	clk.set(t0 + 1503)
	conn.h.Message(pub("devices", "e1", 1, readingAt("2026-11-23T17:00:01Z")))
	h.stats(t) // measured before the clock moves on
	clk.advance(20000)
	st := h.stats(t)
	require.Equal(t, uint64(1), st.Count, "still measured for the client-side view")
	require.Equal(t, uint64(1), st.Pending)
	for {
		select {
		case f := <-conn.sent:
			v, err := StdCodec{}.Parse(f)
			require.NoError(t, err)
			require.NotEqual(t, "report", str(v, "method"))
			continue
		default:
		}
		break
	}
}

func TestNoLatencyWithoutOffsetOrOnOtherChannels(t *testing.T) {
	clk := &manualClock{now: t0}
	h := newHarness(t, func(c *Config) { c.Clock = clk })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	subscribeDevices(t, h, conn, "e1", 0)
	conn.h.Message(pub("devices", "e1", 1, readingAt("2026-11-23T17:00:00Z")))
	require.Zero(t, h.stats(t).Count, "the sync ping is unanswered: no offset yet")

	conn.reply(conn.syncPing.Get("id"), `{"time_ms":`+strconv.FormatFloat(t0, 'f', -1, 64)+`}`)
	h.c.Subscribe("app:x", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"app:x","epoch":"e","offset":0,"recovered":false}`)
	h.ev.wait(t, func(e Event) bool { return e.Kind == EvSubscribed && e.Channel == "app:x" })
	conn.h.Message(pub("app:x", "e", 1, readingAt("2026-11-23T17:00:00Z")))
	require.Zero(t, h.stats(t).Count, "application channels do not carry Readings")
	conn.h.Message(pub("devices", "e1", 2, readingAt("2026-11-23T17:00:00Z")))
	require.Equal(t, uint64(1), h.stats(t).Count)
}

// TestPingsPeriodicallyOnBusyConnection: traffic keeps the watchdog quiet,
// but the clock offset is re-estimated at least once per ping interval.
func TestPingsPeriodicallyOnBusyConnection(t *testing.T) {
	clk := &manualClock{now: t0}
	h := newHarness(t, func(c *Config) { c.Clock = clk })
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1") // ping_interval_ms 25000: a tick every 12.5 s
	warmUp(t, h, clk, conn, 100, 5)
	require.Equal(t, 100.0, h.stats(t).OffsetMs)
	lastPing := clk.NowFine() - 5 - float64(warmupGap) // the last warm-up ping

	// Ticks at 12.5 s, 25 s, 37.5 s after connect, each 500 ms after a
	// message: no watchdog ping, but one once a ping interval has passed
	// since the last ping.
	var req Value
	for tick := t0 + 12500; req == nil; tick += 12500 {
		clk.advance(tick - 500 - clk.NowFine())
		conn.h.Message(`{"jsonrpc":"2.0","method":"message","params":{"channel":"none"}}`)
		h.stats(t)
		clk.advance(500)
		h.stats(t)
		if tick-lastPing < 25000 {
			conn.noFrame(t)
			continue
		}
		req = conn.next(t)
		require.Equal(t, "ping", str(req, "method"))
	}

	// Its reply re-estimates: the server clock moved 10 ms relative to ours,
	// and this round trip is the shortest so far.
	answerPing(clk, conn, req, 110, 2)
	st := h.stats(t)
	require.Equal(t, 2.0, st.RTTMs)
	require.Equal(t, 110.0, st.OffsetMs)

	// Application pings feed the estimator too.
	r := newResult()
	h.c.Ping(r.done)
	req = conn.next(t)
	answerPing(clk, conn, req, 111, 1)
	_, err := r.get(t)
	require.NoError(t, err)
	st = h.stats(t)
	require.Equal(t, 1.0, st.RTTMs)
	require.Equal(t, 111.0, st.OffsetMs)
}

func TestHistogramReportParams(t *testing.T) {
	var h Histogram
	h.Observe(0.5)
	h.Observe(7.5)
	h.Observe(20000)
	v, err := StdCodec{}.Parse(h.reportParams().String())
	require.NoError(t, err)
	counts := v.Get("latency").Get("counts")
	require.Equal(t, len(LatencyBoundsMs)+1, counts.Len())
	require.Equal(t, 1.0, counts.Index(0).Float())
	require.Equal(t, 1.0, counts.Index(3).Float())
	require.Equal(t, 1.0, counts.Index(13).Float())
	require.InDelta(t, 20.008, v.Get("latency").Get("sum").Float(), 1e-12, "seconds")
}
