package sparkplug

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

// TestSparkplugBSampleRoundTrip plays what the simulator sends for an edge
// node and for a device: birth, DATA by alias only, death.
func TestSparkplugBSampleRoundTrip(t *testing.T) {
	for _, id := range []string{"Plant A/Edge 1", "Plant A/Edge 1/Pump ü"} {
		h := New()
		birth, ok := h.Availability("spBv1.0", id, true)
		require.True(t, ok)
		birth.ReceivedAt = t0
		rs, err := h.Decode("spBv1.0", birth)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		require.Equal(t, id, rs[0].Device)
		require.True(t, *rs[0].Online)
		require.Equal(t, "mqlive-sim 1.0", rs[0].Attrs["properties.firmware"])

		msgs := h.Sample("spBv1.0", id, t0, rand.New(rand.NewPCG(3, 4)))
		require.Len(t, msgs, 1)
		var p Payload
		require.NoError(t, proto.Unmarshal(msgs[0].Payload, &p))
		for _, m := range p.Metrics {
			require.Nil(t, m.Name, "DATA carries aliases only")
		}
		msgs[0].ReceivedAt = t0
		rs, err = h.Decode("spBv1.0", msgs[0])
		require.NoError(t, err)
		require.Len(t, rs, 1)
		require.Nil(t, rs[0].Online)
		for _, k := range []string{"sensors.temperature", "sensors.humidity", "power", "energy", "running", "uptime", "counters.cycles"} {
			require.Contains(t, rs[0].Metrics, k)
		}
		require.Less(t, rs[0].Metrics["energy"].(float64), 1e4, "Wh converted to kWh")

		death, ok := h.Availability("spBv1.0", id, false)
		require.True(t, ok)
		death.ReceivedAt = t0
		rs, err = h.Decode("spBv1.0", death)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		require.False(t, *rs[0].Online)
		require.Zero(t, h.Stats().UnknownAlias)
	}
}

func TestSparkplugBSampleNeedsSparkplugID(t *testing.T) {
	h := New()
	require.Nil(t, h.Sample("spBv1.0", "kitchen-plug-01", t0, rand.New(rand.NewPCG(1, 2))))
	_, ok := h.Availability("spBv1.0", "kitchen-plug-01", true)
	require.False(t, ok)
}

func TestSparkplugBTopics(t *testing.T) {
	for _, c := range []struct {
		topic, id string
		state     bool
		reason    string
	}{
		{topic: "spBv1.0/G/NDATA/E", id: "G/E"},
		{topic: "spBv1.0/G/DDATA/E/D", id: "G/E/D"},
		{topic: "spBv1.0/STATE/host", state: true},
		{topic: "spBv1.0/G/DDATA/E", reason: devices.ReasonInvalidTopic},
		{topic: "spBv1.0/G/NDATA/E/D", reason: devices.ReasonInvalidTopic},
		{topic: "spBv1.0/G//E", reason: devices.ReasonInvalidTopic},
		{topic: "spBv1.0/G/NDATA", reason: devices.ReasonInvalidTopic},
		{topic: "spBv1.0x/G/NDATA/E", reason: devices.ReasonInvalidTopic},
	} {
		tp, state, err := parseTopic("spBv1.0", c.topic)
		if c.reason != "" {
			var de *devices.DecodeError
			require.ErrorAs(t, err, &de, c.topic)
			require.Equal(t, c.reason, de.Reason, c.topic)
			continue
		}
		require.NoError(t, err, c.topic)
		require.Equal(t, c.state, state, c.topic)
		if !state {
			require.Equal(t, c.id, tp.id(), c.topic)
		}
	}
}

func TestSparkplugBMetricKey(t *testing.T) {
	for in, want := range map[string]string{
		"Temperature":              "temperature",
		"Sensors/Temperature":      "sensors.temperature",
		"Properties/Hardware Make": "properties.hardware_make",
		"Inputs/A":                 "inputs.a",
		"a//b/":                    "a.b",
		"/":                        "_",
		"PM2.5":                    "pm2_5",
	} {
		require.Equal(t, want, metricKey(in), in)
	}
}
