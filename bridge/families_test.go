package bridge_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/sparkplug"
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
			if why, exempt := notSampled[h.Family()]; exempt {
				t.Logf("%s: no round trip: %s", h.Family(), why)
				continue
			}
			t.Errorf("family %s is not a devices.Sampler, so its traffic is never tested end to end: implement Sample/Availability, or list it in notSampled with the reason", h.Family())
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

// notSampled lists the built-in families TestEveryFamilyRoundTrip exempts,
// each with the reason; every other family must be a devices.Sampler.
var notSampled = map[string]string{}

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

// commandCase is one command and what it must become on the broker.
type commandCase struct {
	family, device string
	traffic        [][2]string // topic, payload that make the device known
	name, args     string
	topic, payload string // payload "" means checked by family below
}

// TestEveryCommanderOnTheBroker sends a dashboard command to a device of
// every family that accepts commands and observes, with a real MQTT
// subscriber, the exact topic and payload the family documents.
func TestEveryCommanderOnTheBroker(t *testing.T) {
	b := bridgetest.Start(t)
	got := make(chan [2]string, 16)
	observe := paho.NewClient(paho.NewClientOptions().AddBroker(b.MQTTURL).SetClientID("observer"))
	tok := observe.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	defer observe.Disconnect(100)
	cases := []commandCase{
		{"zigbee2mqtt", "Hall/Lamp 1", [][2]string{{"zigbee2mqtt/Hall/Lamp 1", `{"state":"OFF"}`}},
			"on", "", "zigbee2mqtt/Hall/Lamp 1/set", `{"state":"ON"}`},
		{"tasmota", "tasmota_A1B2C3", [][2]string{{"tele/tasmota_A1B2C3/STATE", `{"POWER":"OFF"}`}},
			"off", "", "cmnd/tasmota_A1B2C3/Power", "OFF"},
		{"shelly", "shelly1pm-84CCA8A11111", [][2]string{{"shellies/shelly1pm-84CCA8A11111/relay/0", "off"}},
			"on", "", "shellies/shelly1pm-84CCA8A11111/relay/0/command", "on"},
		{"shelly", "shellyplus1pm-a8032ab12345", [][2]string{{"shellies/shellyplus1pm-a8032ab12345/status/switch:0", `{"id":0,"output":false,"apower":0}`}},
			"toggle", "", "shellies/shellyplus1pm-a8032ab12345/rpc", ""},
		{"esphome", "garden", [][2]string{{"esphome/garden/switch/relay/state", "OFF"}},
			"on", "", "esphome/garden/switch/relay/command", "ON"},
		{"ttn", "eui-70b3d57ed0000001", [][2]string{{"v3/my-app@ttn/devices/eui-70b3d57ed0000001/up",
			`{"end_device_ids":{"device_id":"eui-70b3d57ed0000001","application_ids":{"application_id":"my-app"}},"received_at":"2026-11-23T17:00:00Z","uplink_message":{"f_port":2,"decoded_payload":{"temperature":21.5}}}`}},
			"downlink", `{"f_port":15,"frm_payload":"vu8="}`, "v3/my-app@ttn/devices/eui-70b3d57ed0000001/down/push",
			`{"downlinks":[{"f_port":15,"frm_payload":"vu8=","priority":"NORMAL"}]}`},
		{"homie", "boiler", [][2]string{
			{"homie/boiler/$homie", "4.0.0"}, {"homie/boiler/$nodes", "relay"},
			{"homie/boiler/relay/$properties", "power"}, {"homie/boiler/relay/power/$datatype", "boolean"},
			{"homie/boiler/relay/power/$settable", "true"}, {"homie/boiler/relay/power", "false"}},
			"on", "", "homie/boiler/relay/power/set", "true"},
	}
	filters := map[string]byte{}
	for _, c := range cases {
		filters[c.topic] = 1
	}
	tok = observe.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) { got <- [2]string{m.Topic(), string(m.Payload())} })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	// Sparkplug B: the birth comes from the family's own sampler (binary
	// protobuf), the command is a Node Control/Rebirth NCMD.
	spBirth, ok := sparkplug.New().Availability("spBv1.0", "plant-1/edge-1", true)
	require.True(t, ok)
	cases = append(cases, commandCase{"sparkplug_b", "plant-1/edge-1", [][2]string{{spBirth.Topic, string(spBirth.Payload)}},
		"rebirth", "", "spBv1.0/plant-1/NCMD/edge-1", ""})
	tok = observe.Subscribe("spBv1.0/+/NCMD/+", 1, func(_ paho.Client, m paho.Message) { got <- [2]string{m.Topic(), string(m.Payload())} })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", bridge.DefaultTenant, func(cl *auth.Claims) { cl.Cmd = []string{"*"} }))
	for _, tc := range cases {
		t.Run(tc.family+"/"+tc.device, func(t *testing.T) {
			for _, m := range tc.traffic {
				b.Publish(t, m[0], []byte(m[1]))
			}
			var raw json.RawMessage
			bridgetest.Eventually(t, 5*time.Second, func() error {
				var args json.RawMessage
				if tc.args != "" {
					args = json.RawMessage(tc.args)
				}
				// Until the traffic above is ingested the device is unknown.
				r, rerr := c.Call("command", wire.CommandParams{Device: tc.device, Name: tc.name, Args: args})
				if rerr != nil {
					return rerr
				}
				raw = r
				return nil
			})
			var res wire.CommandResult
			require.NoError(t, json.Unmarshal(raw, &res), "command result %s", raw)
			require.True(t, res.Accepted, "the bridge did not report the command accepted: %s", raw)
			select {
			case m := <-got:
				require.Equal(t, tc.topic, m[0])
				switch {
				case tc.payload != "":
					require.Equal(t, tc.payload, m[1])
				case tc.family == "sparkplug_b":
					var p sparkplug.Payload
					require.NoError(t, proto.Unmarshal([]byte(m[1]), &p))
					require.Len(t, p.GetMetrics(), 1)
					require.Equal(t, "Node Control/Rebirth", p.GetMetrics()[0].GetName())
					require.True(t, p.GetMetrics()[0].GetBooleanValue())
				default:
					require.Contains(t, m[1], `"method":"Switch.Toggle"`)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no command on %s", tc.topic)
			}
		})
	}
}
