//go:build !js

package nativews

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/wasm/client"
)

// The client's bucket bounds are the bridge's: reports are positional.
func TestLatencyBoundsMatchBridge(t *testing.T) {
	require.Len(t, client.LatencyBoundsMs, len(metrics.LatencyBuckets))
	for i, s := range metrics.LatencyBuckets {
		require.InDelta(t, s*1000, client.LatencyBoundsMs[i], 1e-9, "bucket %d", i)
	}
}

func stats(t *testing.T, c *client.Client) client.LatencyStats {
	t.Helper()
	ch := make(chan client.LatencyStats, 1)
	c.Latency(func(s client.LatencyStats) { ch <- s })
	return <-ch
}

var latencyCount = regexp.MustCompile(`(?m)^mqlive_client_delivery_latency_seconds_count\{tenant="default"\} (\S+)$`)

// scrapeLatencyCount reads the bridge's /metrics: the number of latency
// samples clients of tenant "default" have reported (0 when none yet).
func scrapeLatencyCount(t *testing.T, b *bridgetest.Bridge) float64 {
	t.Helper()
	resp, err := http.Get(b.HTTPURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := latencyCount.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return n
}

// TestBridgeLatencyReport: publications travel MQTT → bridge → client, the
// client measures them against its ping-estimated clock offset and reports
// the histogram, which the bridge exports on /metrics.
func TestBridgeLatencyReport(t *testing.T) {
	b := bridgetest.Start(t)
	c, rec := newClient(t, client.Config{URL: b.WSURL, Token: b.Token(t, "erin", "default"), ReportInterval: 100})
	connectSync(t, c)
	_, err := call(t, func(d client.Done) { c.Subscribe("devices", client.SubscribeOptions{}, d) })
	require.NoError(t, err)
	// The ping sent right after connect gives the offset: on loopback
	// against the same clock it is about zero.
	bridgetest.Eventually(t, waitFor, func() error {
		if !stats(t, c).OffsetKnown {
			return errNotYet
		}
		return nil
	})
	st := stats(t, c)
	require.InDelta(t, 0, st.OffsetMs, 50, "same host, same clock")
	require.GreaterOrEqual(t, st.RTTMs, 0.0)
	require.Zero(t, scrapeLatencyCount(t, b))

	const n = 20
	for i := range n {
		b.Publish(t, "zigbee2mqtt/dev", []byte(`{"temperature":`+strconv.Itoa(20+i)+`,"linkquality":100}`))
		rec.waitEvent(t, 0, isDevice("dev", "temperature", float64(20+i)))
	}
	bridgetest.Eventually(t, waitFor, func() error {
		if s := stats(t, c); s.Count < n || s.Reported < s.Count {
			return errNotYet
		}
		return nil
	})
	st = stats(t, c)
	require.Zero(t, st.Pending)
	require.Greater(t, st.P99, 0.0)
	require.Less(t, st.P99, 1000.0, "loopback delivery well under a second")
	got := scrapeLatencyCount(t, b)
	require.Equal(t, float64(st.Reported), got, "the bridge counted every reported sample once")
	t.Logf("loopback MQTT → bridge → native client: %d samples, p50 %.2f ms, p99 %.2f ms (offset %.3f ms, rtt %.3f ms)",
		st.Count, st.P50, st.P99, st.OffsetMs, st.RTTMs)
}
