package devices

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestToCanonical(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want float64
	}{
		{70.7, "F", 21.5}, {21.5, "C", 21.5}, {294.65, "K", 21.5},
		{101325, "Pa", 1013.25}, {101.325, "kPa", 1013.25}, {760, "mmHg", 1013.25}, {29.92, "inHg", 1013.207},
		{3025, "mV", 3.025}, {550, "mA", 0.55}, {1234, "Wh", 1.234}, {1.5, "kW", 1500}, {1500, "ms", 1.5},
	} {
		got, ok := toCanonical(c.v, c.unit)
		require.True(t, ok, c.unit)
		require.InDelta(t, c.want, got, 1e-3, "%v %s", c.v, c.unit)
	}
	_, ok := toCanonical(1, "furlongs")
	require.False(t, ok)
}

func TestParseDeviceTime(t *testing.T) {
	want := time.Date(2024, 2, 24, 22, 20, 38, 0, time.UTC)
	for _, v := range []any{
		"2024-02-24T22:20:38", "2024-02-24T22:20:38Z", "2024-02-24T23:20:38+01:00", "2024.02.24 22:20:38",
		"2024-02-24 22:20:38", json.Number("1708813238"), json.Number("1708813238000"),
	} {
		got, ok := parseDeviceTime(v)
		require.True(t, ok, "%v", v)
		require.True(t, want.Equal(got), "%v: %v", v, got)
	}
	for _, v := range []any{"1970-01-01T00:00:12", "yesterday", json.Number("12"), json.Number("-5"), json.Number("1e400"), true, nil} {
		_, ok := parseDeviceTime(v)
		require.False(t, ok, "%v", v)
	}
}

func TestNaturalLess(t *testing.T) {
	require.True(t, naturalLess("DS18B20-2", "DS18B20-10"))
	require.False(t, naturalLess("DS18B20-10", "DS18B20-2"))
	require.True(t, naturalLess("A", "B"))
	require.True(t, naturalLess("a", "ab"))
	require.True(t, naturalLess("x01", "x2"))
}

func TestParseTasmotaUptime(t *testing.T) {
	for in, want := range map[string]float64{"0T00:10:11": 611, "1 02:33:26": 95606, "6T16:56:34": 579394} {
		got, ok := parseTasmotaUptime(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "T", "xT00:00:00", "1T00:00", "99999999T00:00:00"} {
		_, ok := parseTasmotaUptime(in)
		require.False(t, ok, in)
	}
}
