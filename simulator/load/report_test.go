package load

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The table has one row per figure of issue 10, from the results alone.
func TestWriteMarkdown(t *testing.T) {
	conn := ConnectStats{Sockets: 5000, Duration: time.Second, RSSBefore: 10 << 20, RSSAfter: 10<<20 + 5000*30*1024, ServerCPU: time.Second, GenCPU: -1}
	step := func(rate float64, p99 time.Duration, loss int64) Step {
		return Step{Rate: rate, Window: 5 * time.Second, Expected: int64(rate*5*5000) + loss, Received: int64(rate * 5 * 5000),
			P50: p99 / 2, P99: p99, Max: p99 + time.Millisecond, ServerCPU: 101, GenCPU: 40}
	}
	w1, w2, w3 := W1.withDefaults(), W2.withDefaults(), W3.withDefaults()
	results := []Result{
		{Workload: w1, Connect: conn, LoadAvg: 1.5, Passed: 4, Stopped: "at 25 msg/s: p99 1.3 s over 1 s",
			Steps: []Step{step(1, 102*time.Millisecond, 0), step(2, 104*time.Millisecond, 0), step(5, 105*time.Millisecond, 0),
				step(10, 111*time.Millisecond, 0), step(20, 606*time.Millisecond, 0), step(25, 1300*time.Millisecond, 0)}},
		{Workload: w2, Connect: conn, LoadAvg: 1.5, Passed: 0, Steps: []Step{{Rate: 2000, Window: 10 * time.Second, Expected: 100000, Received: 99990,
			P50: 2 * time.Millisecond, P99: 6300 * time.Microsecond, Max: 20 * time.Millisecond, ServerCPU: 41, GenCPU: -1}}},
		{Workload: w3, Connect: ConnectStats{Sockets: 19500, Duration: 3 * time.Second, RSSBefore: -1, RSSAfter: -1, ServerCPU: 3900 * time.Millisecond, GenCPU: 1950 * time.Millisecond}, LoadAvg: -1, Passed: -1},
	}
	var out bytes.Buffer
	require.NoError(t, WriteMarkdown(&out, results))
	require.Equal(t, `| workload | mqlive | details |
|---|---|---|
| W1: 5,000 sockets on one channel, rate stepped 1→30 msg/s: highest rate with no loss and p99 ≤ 1 s | 100k deliveries/s (20 msg/s, p99 606 ms), server 101% of a core | stopped at 25 msg/s: p99 1.3 s over 1 s; connect 5.0k/s, RSS 30.0 KiB/socket; load average 1.5 |
| W1 at 1–10 msg/s: p99 of one 5,000-way burst | 102–111 ms | |
| W2: 5,000 sockets over 1,000 channels, 2,000 msg/s: p99; server CPU | 6.3 ms; 41% | 10.0k deliveries/s, loss 10, p50 2.0 ms, max 20.0 ms, load generator n/a; connect 5.0k/s, RSS 30.0 KiB/socket; load average 1.5 |
| W3: 19,500 idle sockets: RSS per connection; connect rate | n/a; 6.5k/s | 19,500 in 3.0 s; CPU per connect: server 200 µs, load generator 100 µs |
`, out.String())

	// A workload given by flags has no name: its burst row starts with
	// the rates.
	out.Reset()
	unnamed := results[0]
	unnamed.Workload.Name = ""
	require.NoError(t, WriteMarkdown(&out, []Result{unnamed}))
	require.Contains(t, out.String(), "\n| at 1–10 msg/s: p99 of one 5,000-way burst | 102–111 ms | |\n")

	out.Reset()
	require.NoError(t, WriteSteps(&out, results[:1]))
	// 40% of a core over 5 s is 2 s of CPU for 625,000 deliveries.
	require.Contains(t, out.String(), "| W1 | 25 | 0 | 125k | 0 | 0 | 0 | 650 ms | 1.3 s | 1.3 s | 101% | 40% | 3.2 µs |\n")
	require.Equal(t, time.Duration(-1), results[1].Steps[0].GenPerDelivery(), "unknown generator CPU")
	require.Equal(t, 200*time.Microsecond, conn.PerConnect(conn.ServerCPU))
	require.Equal(t, time.Duration(-1), conn.PerConnect(conn.GenCPU))
}

// With the reference server measured too, its figures form a second
// column, matched to mqlive's by workload and row; a row the reference
// has not (its sweep passed no burst step) reads n/a.
func TestWriteMarkdownWithReference(t *testing.T) {
	w1, w3 := W1.withDefaults(), W3.withDefaults()
	step := func(rate float64, p99 time.Duration) Step {
		return Step{Rate: rate, Window: 5 * time.Second, Expected: int64(rate * 5 * 5000), Received: int64(rate * 5 * 5000),
			P50: p99 / 2, P99: p99, Max: p99, ServerCPU: 50, GenCPU: 40}
	}
	idle := func(rate float64, serverCPU time.Duration) ConnectStats {
		return ConnectStats{Sockets: 19500, Duration: time.Duration(19500 / rate * float64(time.Second)), RSSBefore: 0, RSSAfter: 19500 * 14 * 1024,
			ServerCPU: serverCPU, GenCPU: 19500 * 200 * time.Microsecond}
	}
	results := []Result{
		{Workload: w1, Server: "mqlive", Connect: idle(3900, 0), LoadAvg: 2, Passed: 1, Steps: []Step{step(1, 90*time.Millisecond), step(2, 95*time.Millisecond)}},
		{Workload: w1, Server: "reference", Connect: idle(3900, 0), LoadAvg: 2, Passed: -1, Stopped: "at 1 msg/s: 3 lost, 0 duplicated",
			Steps: []Step{step(1, 80*time.Millisecond)}},
		{Workload: w3, Server: "mqlive", Connect: idle(3900, 19500*250*time.Microsecond), LoadAvg: -1, Passed: -1},
		{Workload: w3, Server: "reference", Connect: idle(1950, 19500*360*time.Microsecond), LoadAvg: -1, Passed: -1},
	}
	var out bytes.Buffer
	require.NoError(t, WriteMarkdown(&out, results))
	require.Equal(t, `| workload | mqlive | reference server | details |
|---|---|---|---|
| W1: 5,000 sockets on one channel, rate stepped 1→30 msg/s: highest rate with no loss and p99 ≤ 1 s | 10.0k deliveries/s (2 msg/s, p99 95.0 ms), server 50% of a core | none | every step passed; connect 3.9k/s, RSS 14.0 KiB/socket; load average 2.0 — reference: stopped at 1 msg/s: 3 lost, 0 duplicated; connect 3.9k/s, RSS 14.0 KiB/socket; load average 2.0 |
| W1 at 1–2 msg/s: p99 of one 5,000-way burst | 90.0–95.0 ms | n/a | |
| W3: 19,500 idle sockets: RSS per connection; connect rate | 14.0 KiB; 3.9k/s | 14.0 KiB; 1.9k/s | 19,500 in 5.0 s; CPU per connect: server 250 µs, load generator 200 µs — reference: 19,500 in 10.0 s; CPU per connect: server 360 µs, load generator 200 µs |
`, out.String())

	out.Reset()
	require.NoError(t, WriteSteps(&out, results[:2]))
	require.Contains(t, out.String(), "| W1 (reference) | 1 | 0 | 5.0k |")
}
