package bridge_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
)

// BenchmarkFanoutOneChannel is W1 of issue 10 in one process: 5,000 real
// loopback WebSockets on one channel (devices), every publication going
// to all of them. window=1 is the latency of one 5,000-way burst
// (the next publication waits for every client to have the previous one);
// window=16 keeps 16 bursts in flight, the saturated rate. Clients run in
// this process too, so "cores" and "cpu-µs/delivery" include their
// reading; compare them between versions, not with the figures of an
// external harness. every=1.5s is one burst at a time, 1.5 s apart.
func BenchmarkFanoutOneChannel(b *testing.B) {
	const n = 5000
	raiseFileLimit(b, 2*n+256)
	br := bridgetest.Start(b)
	clients := dialMany(b, br.WSURL, br.Token(b, "bench", bridge.DefaultTenant), n, true)
	var next uint64
	for _, c := range clients {
		next = max(next, c.subscribedAt+1)
	}
	for _, window := range []int{1, 16} {
		b.Run("clients="+strconv.Itoa(n)+"/window="+strconv.Itoa(window), func(b *testing.B) {
			runDelivery(b, br, clients, &next, window)
		})
	}
	// One burst every 1.5 s: W1's lowest step, where an idle socket's
	// writer has ended (after a second) before the next burst.
	b.Run("clients="+strconv.Itoa(n)+"/every=1.5s", func(b *testing.B) {
		runPaced(b, br, clients, &next, 1, 1500*time.Millisecond)
	})
}
