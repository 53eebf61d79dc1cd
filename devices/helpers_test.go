package devices_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

var received = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// decodeOne decodes a message that must yield exactly one valid Reading.
func decodeOne(t *testing.T, h devices.Handler, base, topic, payload string) devices.Reading {
	t.Helper()
	rs, err := h.Decode(base, devices.Message{Topic: topic, Payload: []byte(payload), ReceivedAt: received})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	devicestest.CheckReading(t, h, rs[0])
	return rs[0]
}

// decodeErr decodes a message that must fail, returning its verdict and
// reject reason.
func decodeErr(t *testing.T, h devices.Handler, base, topic, payload string) (string, string) {
	t.Helper()
	rs, err := h.Decode(base, devices.Message{Topic: topic, Payload: []byte(payload), ReceivedAt: received})
	require.Error(t, err)
	require.Empty(t, rs)
	return devices.Verdict(err)
}
