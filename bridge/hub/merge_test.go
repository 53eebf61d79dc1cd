package hub

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestMergedReading(t *testing.T) {
	on, off := true, false
	first := devices.Reading{Device: "th", Family: "zigbee2mqtt", TS: t0, ReceivedAt: t0,
		Metrics: map[string]any{"temperature": 20.0, "humidity": 50.0}, Attrs: map[string]string{"model": "A"},
		Tags: map[string]string{"site": "hq"}}
	m := newMerged(&first)

	m.add(&devices.Reading{Device: "th", TS: t0.Add(2 * time.Second), ReceivedAt: t0.Add(3 * time.Second),
		Metrics: map[string]any{"temperature": 22.0}, Attrs: map[string]string{"fw": "2"}, Online: &on})
	m.add(&devices.Reading{Device: "th", TS: t0.Add(time.Second), ReceivedAt: t0.Add(4 * time.Second),
		Metrics: map[string]any{"temperature": 21.0, "battery": 90.0}, Attrs: map[string]string{"model": "OLD"},
		Tags: map[string]string{"floor": "2"}, Online: &off})

	r := m.reading()
	require.Equal(t, map[string]any{"temperature": 22.0, "humidity": 50.0}, r.Metrics, "latest device time wins per metric")
	require.Equal(t, map[string]string{"model": "A", "fw": "2"}, r.Attrs, "an older Reading leaves attrs alone")
	require.Equal(t, map[string]string{"site": "hq", "floor": "2"}, r.Tags)
	require.Equal(t, t0.Add(2*time.Second), r.TS)
	require.Equal(t, t0.Add(4*time.Second), r.ReceivedAt, "received_at is the newest arrival")
	require.Equal(t, &on, r.Online, "a late old LWT does not override a newer birth")

	m.add(&devices.Reading{Device: "th", TS: t0.Add(5 * time.Second), Online: &off, Stale: true})
	require.False(t, *m.reading().Online)
	require.True(t, m.reading().Stale)

	// The first Reading is shared with other subscribers: never modified.
	require.Equal(t, map[string]any{"temperature": 20.0, "humidity": 50.0}, first.Metrics)
	require.Equal(t, map[string]string{"model": "A"}, first.Attrs)
	require.Equal(t, map[string]string{"site": "hq"}, first.Tags)
	require.Nil(t, first.Online)
}

func TestMergedReadingFromEmptyMaps(t *testing.T) {
	m := newMerged(&devices.Reading{Device: "x", TS: t0})
	m.add(&devices.Reading{Device: "x", TS: t0, Metrics: map[string]any{"a": 1.0}, Attrs: map[string]string{"b": "c"}, Tags: map[string]string{"d": "e"}})
	r := m.reading()
	require.Equal(t, map[string]any{"a": 1.0}, r.Metrics)
	require.Equal(t, map[string]string{"b": "c"}, r.Attrs)
	require.Equal(t, map[string]string{"d": "e"}, r.Tags)
}
