//go:build !js

package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, s string) Value {
	t.Helper()
	v, err := StdCodec{}.Parse(s)
	require.NoError(t, err)
	return v
}

func TestDeviceTableMerge(t *testing.T) {
	tb := NewDeviceTable()
	d, ok := tb.Apply(parse(t, `{"device":"th","family":"zigbee2mqtt","online":true,"ts":"2026-11-23T17:00:00Z","received_at":"2026-11-23T17:00:00.1Z",
		"metrics":{"temperature":21.5,"humidity":48.2,"contact":true},"attrs":{"model":"WSDCGQ11LM"},"tags":{"site":"hq"},"stale":false}`))
	require.True(t, ok)
	require.Equal(t, "zigbee2mqtt", d.Family)
	require.True(t, d.OnlineKnown)
	require.True(t, d.Online)
	require.True(t, d.Metrics["contact"].IsBool)
	require.True(t, d.Metrics["contact"].Bool)

	// Newer reading: merges per key; online absent leaves it alone.
	d, _ = tb.Apply(parse(t, `{"device":"th","ts":"2026-11-23T17:00:10Z","metrics":{"temperature":22},"stale":false}`))
	require.Equal(t, 22.0, d.Metrics["temperature"].Num)
	require.Equal(t, 48.2, d.Metrics["humidity"].Num)
	require.True(t, d.Online)
	require.Equal(t, "zigbee2mqtt", d.Family)
	require.Equal(t, 2, d.Updates)

	// An older reading arriving late does not overwrite newer metrics but
	// adds metrics it alone carries.
	d, _ = tb.Apply(parse(t, `{"device":"th","ts":"2026-11-23T16:59:00Z","metrics":{"temperature":5,"battery":97}}`))
	require.Equal(t, 22.0, d.Metrics["temperature"].Num)
	require.Equal(t, 97.0, d.Metrics["battery"].Num)
	require.Equal(t, parseTime("2026-11-23T17:00:10Z"), d.TS)

	// Availability and staleness follow the last reading carrying them.
	d, _ = tb.Apply(parse(t, `{"device":"th","online":false,"stale":true,"ts":"2026-11-23T17:01:00Z"}`))
	require.False(t, d.Online)
	require.True(t, d.Stale)
	require.Equal(t, "WSDCGQ11LM", d.Attrs["model"])
	require.Equal(t, "hq", d.Tags["site"])

	// Non-readings are ignored.
	_, ok = tb.Apply(parse(t, `{"text":"hello"}`))
	require.False(t, ok)
	_, ok = tb.Apply(parse(t, `[1,2]`))
	require.False(t, ok)
	require.Equal(t, 1, tb.Len())

	// Returned copies do not alias the table.
	d.Metrics["temperature"] = Metric{Num: -1}
	got, _ := tb.Get("th")
	require.Equal(t, 22.0, got.Metrics["temperature"].Num)
}

func TestDeviceTableReplace(t *testing.T) {
	tb := NewDeviceTable()
	tb.Apply(parse(t, `{"device":"a","metrics":{"x":1}}`))
	tb.Apply(parse(t, `{"device":"b","metrics":{"x":2}}`))

	// A partial snapshot (device:/tag: channel) replaces only its devices.
	set, removed := tb.Replace(parse(t, `[{"device":"a","metrics":{"y":3}}]`), false)
	require.Len(t, set, 1)
	require.Empty(t, removed)
	a, _ := tb.Get("a")
	_, hasX := a.Metrics["x"]
	require.False(t, hasX, "snapshot replaces, not merges")
	require.Equal(t, 2, tb.Len())

	// A devices snapshot covers the tenant: b and a go, c comes.
	set, removed = tb.Replace(parse(t, `[{"device":"c","metrics":{"z":1}},{"nodevice":1}]`), true)
	require.Equal(t, []string{"a", "b"}, removed)
	require.Len(t, set, 1)
	require.Equal(t, []string{"c"}, ids(tb.All()))

	_, removed = tb.Replace(parse(t, `null`), true)
	require.Equal(t, []string{"c"}, removed)
	require.Equal(t, 0, tb.Len())

	tb.Apply(parse(t, `{"device":"q"}`))
	require.Equal(t, []string{"q"}, tb.Clear())
}

func ids(ds []Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
