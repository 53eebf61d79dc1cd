package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimeMatchesStdlib(t *testing.T) {
	for _, s := range []string{
		"2026-11-23T17:00:00Z", "2026-11-23T17:00:00.123Z", "2026-11-23T17:00:00.123456789Z",
		"2024-02-29T23:59:59+01:00", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.5-05:30",
		"2100-12-31T00:00:00+14:00", "1600-02-29T00:00:00Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		require.Equal(t, want.UnixMilli(), parseTime(s), s)
	}
	for _, s := range []string{"", "2026-11-23", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
		"2026-11-23T17:00:00", "2026-11-23T17:00:00.Z", "2026-11-23T24:00:00Z", "2026-11-23T17:00:00+1:00", "x026-11-23T17:00:00Z"} {
		require.Zero(t, parseTime(s), s)
	}
}

func FuzzParseTime(f *testing.F) {
	f.Add("2026-11-23T17:00:00.123Z")
	f.Add("2024-02-29T23:59:59+01:00")
	f.Fuzz(func(t *testing.T, s string) {
		got := parseTime(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if got != 0 {
			require.NoError(t, err, s)
			require.Equal(t, want.UnixMilli(), got, s)
		}
	})
}

func TestParseTimeFineKeepsSubMilliseconds(t *testing.T) {
	for _, s := range []string{"2026-11-23T17:00:00.123456789Z", "2026-11-23T17:00:00Z", "1969-12-31T23:59:59.5-05:30"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		require.InDelta(t, float64(want.UnixNano())/1e6, parseTimeFine(s), 0.001, s)
	}
	require.Zero(t, parseTimeFine("2026-11-23T17:00:00"))
}
