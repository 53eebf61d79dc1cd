package devices_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// learn feeds attribute messages, which must all be ignored.
func learn(t *testing.T, h devices.Handler, base string, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		v, _ := decodeErr(t, h, base, kv[i], kv[i+1])
		require.Equal(t, "ignored", v, kv[i])
	}
}

// benchDecodeIgnoring is benchDecode for stateful families, whose samples
// include attribute messages that decode to ErrIgnored.
func benchDecodeIgnoring(b *testing.B, h devices.Handler, base string) {
	s := h.(devices.Sampler)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var msgs []devices.Message
	for i := 0; i < 16; i++ {
		msgs = append(msgs, s.Sample(base, "dev-"+string(rune('a'+i)), now, rand.New(rand.NewPCG(uint64(i), 1)))...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = h.Decode(base, msgs[i%len(msgs)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
