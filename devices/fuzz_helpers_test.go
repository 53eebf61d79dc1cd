package devices_test

import (
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
	devicestest.CheckDecode(t, h, base, devices.Message{Topic: topic, Payload: payload, ReceivedAt: received})
}
