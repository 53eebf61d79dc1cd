package client

import "github.com/mqlive/mqlive/bridge/wire/protocol"

// maxReportSamples is the most samples the bridge accepts in one report
// (wire.MaxReportSamples).
const maxReportSamples = 100000

// After connect the client pings warmupPings times, warmupGap ms apart,
// instead of waiting a ping interval for a second sample: the first round
// trip often queues behind the page's start-up work (snapshot, rendering),
// and the smallest of several round trips gives a far better offset.
const (
	warmupPings = offsetSamples / 2
	warmupGap   = 250 * Millisecond
)

// latencyState is the client's end-to-end delivery latency measurement:
// bridge receive (a Reading's received_at, server clock) to the moment the
// SDK hands the publication to the page (client clock plus the offset
// estimated from pings). The actor owns it.
type latencyState struct {
	est   offsetEstimator
	total Histogram // every sample since New: the client-side view
	// unacked holds the samples no server has acknowledged yet. A report
	// sends a part of it (inflight); only the server's success reply
	// subtracts that part, so a lost connection or a failed report keeps
	// the samples for a later report and nothing is counted twice.
	unacked  Histogram
	inflight *Histogram
	reported uint64 // samples acknowledged by a server
	// unsupported: this connection's server answered report with "method
	// not found" (an older bridge); the samples wait for the next one.
	unsupported bool
}

// LatencyStats is the client-side view of the delivery latency (bridge
// receive → page), all in milliseconds.
type LatencyStats struct {
	// Count is the number of publications measured since the client was
	// created; P50 and P99 are estimated from the histogram buckets the
	// way Prometheus does (0 while Count is 0).
	Count    uint64
	P50, P99 float64
	// OffsetMs is the estimated server clock minus the client clock and
	// RTTMs the ping round trip it came from; valid when OffsetKnown.
	OffsetMs, RTTMs float64
	OffsetKnown     bool
	// Reported counts the samples a bridge acknowledged; Pending those
	// still to be reported.
	Reported, Pending uint64
	// Histogram holds the samples behind Count (bounds LatencyBoundsMs).
	Histogram Histogram
}

// Latency passes the current latency statistics to f on the actor
// goroutine.
func (c *Client) Latency(f func(LatencyStats)) {
	if !c.post(func() { f(c.a.latencyStats()) }) {
		f(LatencyStats{})
	}
}

func (a *actor) latencyStats() LatencyStats {
	l := &a.lat
	off, rtt, ok := l.est.offset()
	return LatencyStats{
		Count: l.total.Count(), P50: l.total.Quantile(0.5), P99: l.total.Quantile(0.99),
		OffsetMs: off, RTTMs: rtt, OffsetKnown: ok,
		Reported: l.reported, Pending: l.unacked.Count(), Histogram: l.total,
	}
}

// measure counts one live publication of a device channel whose data is a
// Reading. It runs just before the publication is handed to the page.
// Without an offset estimate yet (the first ping is still out) there is
// nothing to measure against, and the sample is skipped.
func (a *actor) measure(p Value) {
	off, _, ok := a.lat.est.offset()
	if !ok {
		return
	}
	recv := parseTimeFine(str(p.Get("data"), "received_at"))
	if recv == 0 {
		return
	}
	ms := nowFine(a.cfg.Clock) + off - recv
	if ms < 0 {
		ms = 0 // within the offset's error (half a round trip)
	}
	a.lat.total.Observe(ms)
	a.lat.unacked.Observe(ms)
}

// onPong feeds a ping reply into the offset estimator. sentAt is when the
// ping went out; the reply is stamped now, on the actor, which only ever
// lengthens the round trip, and long round trips lose to short ones.
func (a *actor) onPong(sentAt float64, res Value) {
	server, ok := num(res, "time_ms")
	if !ok || sentAt <= 0 {
		return
	}
	a.lat.est.add(sentAt, nowFine(a.cfg.Clock), server)
	if a.lat.est.n < warmupPings {
		a.after(warmupGap, func() { a.send(protocol.MethodPing, nil, func(Value, error) {}) })
	}
}

// armReport reports the latency histogram every ReportInterval while
// connected (teardown stops it).
func (a *actor) armReport() {
	if a.cfg.ReportInterval <= 0 {
		return
	}
	a.reportTimer = a.after(a.cfg.ReportInterval, func() {
		a.sendReport()
		a.armReport()
	})
}

// sendReport sends the unacknowledged samples, one report at a time.
func (a *actor) sendReport() {
	l := &a.lat
	if l.inflight != nil || l.unsupported || l.unacked.Count() == 0 {
		return
	}
	part := l.unacked.take(maxReportSamples)
	sent := &part
	l.inflight = sent
	a.send(protocol.MethodReport, part.reportParams(), func(_ Value, err error) {
		if l.inflight == sent {
			l.inflight = nil
		}
		e, _ := err.(*Error)
		switch {
		case err == nil:
			l.unacked.sub(sent)
			l.reported += sent.Count()
		case e != nil && e.Code == CodeMethodNotFound:
			l.unsupported = true
		case e != nil && e.Code == CodeInvalidParams:
			// The server will never take these: drop them rather than
			// resend them forever.
			l.unacked.sub(sent)
			a.emit(Event{Kind: EvError, Err: &Error{Code: e.Code, Message: "latency report refused: " + e.Message}})
		}
		// Anything else (connection lost, rate limited): keep the samples
		// for the next report.
	})
}
