package bridge_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func TestBadInputIsCountedNeverCrashesNeverLeaks(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		twoTenants(c)
		c.Sources = append(c.Sources, bridge.SourceConfig{Family: "json", Tenant: "acme", Base: strp("acme/json"),
			JSON: &devices.JSONConfig{Pattern: "sensors/{device}/state"}})
	})
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "alice", "acme"))
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "bob", "globex"))
	globex.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)

	// A good device first, so that any leak into its state would show.
	b.Publish(t, "acme/zigbee2mqtt/good", []byte(`{"temperature":20}`))
	nextReading(t, acme, "devices")

	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	huge := append([]byte(`{"temperature":1,"pad":"`), bytes.Repeat([]byte("x"), 5<<20)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		topic, family, reason string
		payload               []byte
	}{
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidJSON, []byte(`{"temperature":21.`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidUTF8, []byte("{\"temperature\":1,\"x\":\"\xff\xfe\"}")},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonTooDeep, []byte(`{"a":` + deep + `}`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonTooLarge, huge},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidNumber, []byte(`{"temperature":1e400}`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidJSON, []byte(`{"temperature":NaN}`)},
		{"acme/tele/bad/SENSOR", "tasmota", devices.ReasonInvalidUTF8, []byte{0x00, 0x01, 0xfe, 0x80, 0x7f, 0x10}},
		{"acme/json/sensors/bad/state", "json", devices.ReasonInvalidUTF8, []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff}},
		{"acme/json/sensors/bad/state", "json", devices.ReasonInvalidJSON, []byte("\x01\x02binary\x00\x7f")},
	}
	for _, c := range cases {
		b.Publish(t, c.topic, c.payload)
	}
	m := metricsOf(b)
	for _, c := range cases {
		var want float64
		for _, d := range cases {
			if d.family == c.family && d.reason == c.reason {
				want++
			}
		}
		bridgetest.Eventually(t, 5*time.Second, func() error {
			got := testutil.ToFloat64(m.IngestRejected.WithLabelValues(c.family, "acme", c.reason))
			if got != want {
				return errorf("%s %s: rejected %v, want %v", c.family, c.reason, got, want)
			}
			return nil
		})
	}
	// The node is alive, the good device is untouched, nothing was emitted.
	b.Publish(t, "acme/zigbee2mqtt/good", []byte(`{"temperature":22}`))
	_, r := nextReading(t, acme, "devices")
	require.Equal(t, "good", r.Device, "no Reading was emitted for any bad message")
	require.Equal(t, 22.0, r.Metrics["temperature"])
	_, ok := globex.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "nothing reached another tenant")
	var res wire.SubscribeResult
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "device:bad"}, &res)
	require.Empty(t, res.Snapshot, "no device was created by bad input")
}

func TestMonitorShowsVerdicts(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	admin := bridgetest.Dial(t, b.WSURL)
	admin.Connect(b.Token(t, "root", "acme", func(c *auth.Claims) { c.Admin = true }))
	admin.MustCall("subscribe", wire.SubscribeParams{Channel: "monitor"}, nil)
	b.Publish(t, "acme/zigbee2mqtt/m1", []byte(`{"temperature":20}`))
	b.Publish(t, "acme/zigbee2mqtt/bridge/state", []byte(`{"state":"online"}`))
	b.Publish(t, "acme/zigbee2mqtt/m1", []byte(`{broken`))
	b.Publish(t, "globex/zigbee2mqtt/other", []byte(`{"temperature":1}`))
	want := []string{`"verdict":"decoded"`, `"verdict":"ignored"`, `"verdict":"rejected","reason":"invalid_json"`}
	for _, w := range want {
		p, ok := admin.NextMessage(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "monitor", p.Channel)
		require.Contains(t, string(p.Data), w)
		require.Contains(t, string(p.Data), `"topic":"acme/zigbee2mqtt/`)
	}
	_, ok := admin.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "another tenant's traffic is not on this monitor")
}

func TestQoS1RedeliveriesAreSuppressedOnce(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	msg := devices.Message{Topic: "zigbee2mqtt/d1", Payload: []byte(`{"temperature":20}`), ReceivedAt: time.Now()}
	bridge.HandleMessage(b.Bridge, msg)
	dup := msg
	dup.Duplicate = true
	bridge.HandleMessage(b.Bridge, dup) // the broker retried after a lost PUBACK
	bridge.HandleMessage(b.Bridge, msg) // the device really sent the same value again
	p1, _ := nextReading(t, c, "devices")
	p2, _ := nextReading(t, c, "devices")
	require.Equal(t, p1.Offset+1, p2.Offset)
	_, ok := c.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "the redelivery was not published")
	require.Equal(t, 1.0, testutil.ToFloat64(metricsOf(b).DedupSuppressed.WithLabelValues("zigbee2mqtt", "default")))
}
