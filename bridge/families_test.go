package bridge_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestEveryFamilyRoundTrip publishes each built-in family's own sampled
// traffic on a real broker and expects its Readings on a real WebSocket,
// with the family's id and the device's identity intact.
func TestEveryFamilyRoundTrip(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", bridge.DefaultTenant))
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, h := range bridge.Families() {
		s, ok := h.(devices.Sampler)
		if !ok {
			continue
		}
		t.Run(h.Family(), func(t *testing.T) {
			device := sampleDevice(h.Family())
			ch := wire.DeviceChannel(device)
			var sub wire.SubscribeResult
			c.MustCall("subscribe", wire.SubscribeParams{Channel: ch}, &sub)
			base := h.DefaultBase()
			if m, ok := s.Availability(base, device, true); ok {
				b.PublishRetained(t, m.Topic, m.Payload, m.Retained)
			}
			for _, m := range s.Sample(base, device, time.Now(), rnd) {
				b.PublishRetained(t, m.Topic, m.Payload, m.Retained)
			}
			metrics := 0
			deadline := time.Now().Add(5 * time.Second)
			for metrics == 0 && time.Now().Before(deadline) {
				p, ok := c.NextMessage(time.Until(deadline))
				require.True(t, ok, "no Reading of %s device %q", h.Family(), device)
				if p.Channel != ch {
					continue
				}
				r := reading(t, p)
				require.Equal(t, device, r.Device)
				require.Equal(t, h.Family(), r.Family)
				metrics += len(r.Metrics)
			}
			require.Positive(t, metrics, "the sample carried metrics")
			if m, ok := s.Availability(base, device, false); ok {
				b.PublishRetained(t, m.Topic, m.Payload, false)
				for {
					p, ok := c.NextMessage(5 * time.Second)
					require.True(t, ok, "no offline Reading")
					if r := reading(t, p); p.Channel == ch && r.Online != nil {
						require.False(t, *r.Online)
						break
					}
				}
			}
			c.MustCall("unsubscribe", wire.ChannelParams{Channel: ch}, nil)
		})
	}
}

// sampleDevice is a device id in the shape each family uses.
func sampleDevice(family string) string {
	switch family {
	case "zigbee2mqtt":
		return "Living Room/Lamp 1"
	case "tasmota":
		return "tasmota_ABC123"
	case "sparkplug_b":
		return "Plant 1/edge-07/pump 3" // group/edge node/device
	}
	return "rt-" + family
}

// TestHomeAssistantStateTopicsOutsideItsBase follows a discovery config to
// a state topic under another prefix, configured with state_filters.
func TestHomeAssistantStateTopicsOutsideItsBase(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.Sources = []bridge.SourceConfig{{Family: "homeassistant", Tenant: "acme", StateFilters: []string{"garden-node/#"}}}
	})
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	// An ESPHome-style node announcing itself through Home Assistant
	// discovery (home-assistant.io/integrations/sensor.mqtt).
	b.PublishRetained(t, "homeassistant/sensor/garden-node/soil_temp/config", []byte(`{"name":"Soil temperature","state_topic":"garden-node/sensor/soil_temp/state","device_class":"temperature","unit_of_measurement":"°F","unique_id":"garden-node-soil-temp","device":{"identifiers":["garden-node"],"name":"Garden node"}}`), true)
	b.Publish(t, "garden-node/sensor/soil_temp/state", []byte("68"))
	_, r := nextReading(t, c, "devices")
	require.Equal(t, "garden-node", r.Device)
	require.Equal(t, "homeassistant", r.Family)
	require.InDelta(t, 20.0, r.Metrics["temperature"], 0.01, "°F converted to °C")
}
