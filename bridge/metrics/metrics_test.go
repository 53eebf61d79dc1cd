package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// TestMetricsFollowConventions lints every mqlive metric with the
// Prometheus linter (names, units, help, counters ending in _total).
func TestMetricsFollowConventions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	// Give every vector a child so that it is collected.
	m.IngestMessages.WithLabelValues("zigbee2mqtt", "acme", "decoded").Inc()
	m.IngestRejected.WithLabelValues("zigbee2mqtt", "acme", "invalid_json").Inc()
	m.IngestDecode.WithLabelValues("zigbee2mqtt").Observe(0.001)
	m.StateDevices.WithLabelValues("acme").Set(1)
	m.StaleTransitions.WithLabelValues("acme").Inc()
	m.Publications.WithLabelValues("devices").Inc()
	m.Connections.WithLabelValues("acme").Inc()
	m.Subscriptions.WithLabelValues("acme").Inc()
	m.Disconnects.WithLabelValues("1000").Inc()
	m.Rejected.WithLabelValues("limit").Inc()
	m.Recoveries.WithLabelValues("recovered").Inc()
	m.Requests.WithLabelValues("ping", "0").Inc()
	m.ClientReports.WithLabelValues("accepted").Inc()
	m.Commands.WithLabelValues("zigbee2mqtt", "acme", "sent").Inc()
	m.DedupSuppressed.WithLabelValues("zigbee2mqtt", "acme").Inc()
	counts := make([]uint64, len(LatencyBuckets)+1)
	counts[0] = 1
	require.True(t, m.ClientLatency.Add("acme", counts, 0.0005))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := 0
	for _, mf := range mfs {
		if len(mf.GetName()) > 7 && mf.GetName()[:7] == "mqlive_" {
			names++
		}
	}
	require.GreaterOrEqual(t, names, 29)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	for _, p := range problems {
		if len(p.Metric) > 7 && p.Metric[:7] == "mqlive_" {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func TestClientLatencyRejectsMalformedReports(t *testing.T) {
	c := newClientLatency()
	require.False(t, c.Add("t", []uint64{1}, 0))
	ok := make([]uint64, len(LatencyBuckets)+1)
	require.False(t, c.Add("t", ok, -1))
	nan := 0.0
	require.False(t, c.Add("t", ok, nan/nan))
	require.True(t, c.Add("t", ok, 0))
}
