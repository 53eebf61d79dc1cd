package bridge_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices/sparkplug"
)

// TestSparkplugStaleDeathCounted: an NDEATH whose bdSeq is not the current
// birth's (the late will of an earlier connection; Sparkplug 3.0
// tck-id-payloads-ndeath-bdseq) emits no Reading, leaves the node online,
// and is counted as mqlive_family_events_total{family="sparkplug_b",
// event="stale_death"}; the NDEATH of the current session takes it
// offline.
func TestSparkplugStaleDeathCounted(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.Sources = []bridge.SourceConfig{{Family: "sparkplug_b", Tenant: "acme"}}
	})
	dash := bridgetest.Dial(t, b.WSURL)
	dash.Connect(b.Token(t, "alice", "acme"))
	dash.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	bd := func(n uint64) *sparkplug.Payload_Metric {
		return &sparkplug.Payload_Metric{Name: proto.String("bdSeq"), Datatype: proto.Uint32(uint32(sparkplug.DataType_Int64)),
			Value: &sparkplug.Payload_Metric_LongValue{LongValue: n}}
	}
	publish := func(topic string, p *sparkplug.Payload) {
		data, err := proto.Marshal(p)
		require.NoError(t, err)
		b.Publish(t, topic, data)
	}
	birth := func(n uint64) *sparkplug.Payload {
		return &sparkplug.Payload{Timestamp: proto.Uint64(1767322000000), Seq: proto.Uint64(0), Metrics: []*sparkplug.Payload_Metric{bd(n),
			{Name: proto.String("Supply Voltage"), Datatype: proto.Uint32(uint32(sparkplug.DataType_Float)), Value: &sparkplug.Payload_Metric_FloatValue{FloatValue: 12.5}}}}
	}
	publish("spBv1.0/G1/NBIRTH/E1", birth(1))
	publish("spBv1.0/G1/NBIRTH/E1", birth(2)) // reconnected: session 2
	for i := 0; i < 2; i++ {
		_, r := nextReading(t, dash, "devices")
		require.True(t, *r.Online)
		require.Equal(t, 12.5, r.Metrics["voltage"], "Supply Voltage is the canonical voltage")
	}
	events := func() float64 {
		n, err := testutil.GatherAndCount(b.Registry(), "mqlive_family_events_total")
		require.NoError(t, err)
		require.Equal(t, 4, n, "one series per sparkplug_b event")
		v, ok := gatheredCounter(t, b, "mqlive_family_events_total", map[string]string{"family": "sparkplug_b", "event": "stale_death"})
		require.True(t, ok, "no stale_death series")
		return v
	}
	require.Zero(t, events())

	publish("spBv1.0/G1/NDEATH/E1", &sparkplug.Payload{Metrics: []*sparkplug.Payload_Metric{bd(1)}}) // session 1's late will
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if events() != 1 {
			return errorf("stale_death not counted yet")
		}
		return nil
	})
	_, ok := dash.NextMessage(200 * time.Millisecond)
	require.False(t, ok, "a stale NDEATH emits no Reading")

	publish("spBv1.0/G1/NDEATH/E1", &sparkplug.Payload{Metrics: []*sparkplug.Payload_Metric{bd(2)}})
	_, r := nextReading(t, dash, "devices")
	require.Equal(t, "G1/E1", r.Device)
	require.False(t, *r.Online, "the current session's NDEATH takes the node offline")
	require.Equal(t, 1.0, events())
}

// gatheredCounter is the value of the counter name whose labels include
// want, from the bridge's registry.
func gatheredCounter(t *testing.T, b *bridgetest.Bridge, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := b.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}
