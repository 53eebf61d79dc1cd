package devices_test

import (
	"errors"
	"testing"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// fuzzDecode asserts the Decode contract for any input: no panic, either a
// *DecodeError / ErrIgnored without Readings, or only valid Readings.
func fuzzDecode(t *testing.T, h devices.Handler, base, topic string, payload []byte) {
	if devices.ValidTopic(topic) != nil {
		return // the broker never delivers an invalid topic name
	}
	rs, err := h.Decode(base, devices.Message{Topic: topic, Payload: payload, ReceivedAt: received})
	if err != nil {
		var de *devices.DecodeError
		if !errors.As(err, &de) && !errors.Is(err, devices.ErrIgnored) {
			t.Fatalf("error %v is neither *DecodeError nor ErrIgnored", err)
		}
		if len(rs) > 0 {
			t.Fatalf("%d readings with error %v", len(rs), err)
		}
		return
	}
	for _, r := range rs {
		devicestest.CheckReading(t, h, r)
	}
}
