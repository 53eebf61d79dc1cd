package bridge_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestClientLatencyReports(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))

	var pong wire.PingResult
	before := float64(time.Now().UnixMilli())
	c.MustCall("ping", nil, &pong)
	require.InDelta(t, before, pong.TimeMS, 5000, "ping carries the server clock")

	counts := make([]uint64, len(metrics.LatencyBuckets)+1)
	counts[2], counts[3] = 7, 3 // seven ≤ 5 ms, three ≤ 10 ms
	c.MustCall("report", wire.ReportParams{Latency: &wire.LatencyReport{Counts: counts, Sum: 0.05}}, nil)
	c.MustCall("report", wire.ReportParams{Latency: &wire.LatencyReport{Counts: counts, Sum: 0.05}}, nil)
	_, rerr := c.Call("report", wire.ReportParams{Latency: &wire.LatencyReport{Counts: counts[:3], Sum: 1}})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
	huge := make([]uint64, len(counts))
	huge[0], huge[1] = 1<<63, 1<<63 // would wrap to 0
	_, rerr = c.Call("report", wire.ReportParams{Latency: &wire.LatencyReport{Counts: huge, Sum: 1}})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)

	m := metricsOf(b)
	require.Equal(t, 1, testutil.CollectAndCount(m.ClientLatency))
	require.Equal(t, 2.0, testutil.ToFloat64(m.ClientReports.WithLabelValues("accepted")))
	require.Equal(t, 2.0, testutil.ToFloat64(m.ClientReports.WithLabelValues("invalid")))
	problems, err := testutil.CollectAndLint(m.ClientLatency)
	require.NoError(t, err)
	require.Empty(t, problems)
	body := scrape(t, b.HTTPURL+"/metrics")
	require.Contains(t, body, `mqlive_client_delivery_latency_seconds_bucket{tenant="default",le="0.005"} 14`)
	require.Contains(t, body, `mqlive_client_delivery_latency_seconds_bucket{tenant="default",le="0.01"} 20`)
	require.Contains(t, body, `mqlive_client_delivery_latency_seconds_count{tenant="default"} 20`)
}
