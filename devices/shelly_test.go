package devices_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestShellyConformance(t *testing.T) {
	devicestest.Run(t, devices.Shelly{})
}

func TestShellyFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.Shelly{}, "testdata/shelly")
}

func TestShellyFilters(t *testing.T) {
	s := devices.Shelly{}
	require.Equal(t, "shellies", s.DefaultBase())
	require.Equal(t, []string{"shellies/#"}, s.Filters("shellies"))
	require.Equal(t, []string{"home/shelly/#"}, s.Filters("home/shelly"))
	require.Equal(t, []string{"shellies/#", "+/online", "+/events/rpc", "+/status/+", "+/status"}, s.Filters(""))

	// At its default base the family sits next to every other family at
	// theirs; at base "" it overlaps the "<x>/#" and "<x>/+/+" families,
	// and the router says so rather than splitting messages between them.
	_, err := devices.NewRegistry(devices.Zigbee2MQTT{}, devices.Tasmota{}, s)
	require.NoError(t, err)
	for _, other := range []devices.Handler{devices.Zigbee2MQTT{}, devices.Tasmota{}} {
		_, err := devices.NewRouter(
			devices.Mount{Tenant: "a", Base: other.DefaultBase(), Handler: other},
			devices.Mount{Tenant: "a", Base: "", Handler: s})
		require.Error(t, err, other.Family())
	}
	// One source per Gen2 device at its default prefix coexists with them.
	_, err = devices.NewRouter(
		devices.Mount{Tenant: "a", Base: "zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Tenant: "a", Base: "", Handler: devices.Tasmota{}},
		devices.Mount{Tenant: "a", Base: "shellies", Handler: s},
		devices.Mount{Tenant: "a", Base: "shellyplus1pm-a8032ab12345", Handler: s})
	require.NoError(t, err)
}

func TestShellyTopics(t *testing.T) {
	s := devices.Shelly{}
	// A multi-level custom Gen2 prefix is a device id with '/'.
	r := decodeOne(t, s, "shellies", "shellies/ground floor/kitchen plug/status/switch:0", `{"id":0,"output":true}`)
	require.Equal(t, "ground floor/kitchen plug", r.Device)
	require.Equal(t, map[string]any{"state": true}, r.Metrics)
	r = decodeOne(t, s, "shellies", "shellies/étage/online", `false`)
	require.Equal(t, "étage", r.Device)
	require.False(t, *r.Online)

	// The base is the device's own prefix: one source per Gen2 device.
	r = decodeOne(t, s, "shellyplus1pm-a8032ab12345", "shellyplus1pm-a8032ab12345/online", `true`)
	require.Equal(t, "shellyplus1pm-a8032ab12345", r.Device)
	r = decodeOne(t, s, "shellyplus1pm-a8032ab12345", "shellyplus1pm-a8032ab12345/events/rpc",
		`{"src":"shellyplus1pm-a8032ab12345","method":"NotifyStatus","params":{"ts":1700000000,"switch:0":{"apower":5}}}`)
	require.Equal(t, map[string]any{"power": 5.0}, r.Metrics)
	require.Equal(t, time.Unix(1700000000, 0).UTC(), r.TS)

	for _, topic := range []string{"shellies//online", "elsewhere/x/online", "shellies//relay/0"} {
		_, why := decodeErr(t, s, "shellies", topic, `true`)
		require.Equal(t, devices.ReasonInvalidTopic, why, topic)
	}
	// A prefix with an empty level is refused by the shared id check.
	_, err := devices.Decode(s, "shellies", devices.Message{Topic: "shellies/a//online", Payload: []byte(`true`)})
	_, why := devices.Verdict(err)
	require.Equal(t, devices.ReasonDeviceIDEmptyLevel, why)
	for _, topic := range []string{"shellies/x/rpc", "shellies/x/debug/log", "shellies/x/relay/0/command", "shellies/x/roller/0/command/pos", "shellies/x/light/0/set", "shellies/x/settings"} {
		v, _ := decodeErr(t, s, "shellies", topic, `1`)
		require.Equal(t, "ignored", v, topic)
	}
	v, _ := decodeErr(t, s, "shellies", "shellies/x/online", ``)
	require.Equal(t, "ignored", v, "a cleared retained message")
	_, why = decodeErr(t, s, "shellies", "shellies/x/online", "\xff")
	require.Equal(t, devices.ReasonInvalidUTF8, why)
}

func TestShellyGen2Mapping(t *testing.T) {
	s := devices.Shelly{}
	frame := func(params string) string {
		return `{"src":"dev","dst":"dev/events","method":"NotifyStatus","params":{"ts":1700000000.5,` + params + `}}`
	}
	// Cover: position, state text, energy; a null key means "gone".
	r := decodeOne(t, s, "", "dev/events/rpc", frame(`"cover:0":{"id":0,"state":"stopped","current_pos":42,"target_pos":null,"apower":0,"aenergy":{"total":2000},"pos_control":true}`))
	require.Equal(t, map[string]any{"position": 42.0, "power": 0.0, "energy": 2.0, "pos_control": true}, r.Metrics)
	require.Equal(t, map[string]string{"state": "stopped"}, r.Attrs)
	require.Equal(t, time.Unix(1700000000, 5e8).UTC(), r.TS)

	// Inputs and unknown components always carry their key.
	r = decodeOne(t, s, "", "dev/events/rpc", frame(`"input:0":{"id":0,"state":true},"script:1":{"id":1,"running":true},"switch:2":{"output":true,"ret_aenergy":{"total":1500}}`))
	require.Equal(t, map[string]any{"input:0.state": true, "script:1.running": true, "switch:2.state": true, "switch:2.energy_returned": 1.5}, r.Metrics)

	// Smoke and flood alarms; pm1 metering.
	r = decodeOne(t, s, "", "dev/events/rpc", frame(`"smoke:0":{"id":0,"alarm":true,"mute":false},"pm1:0":{"id":0,"voltage":230.1,"current":0.5,"apower":110.2,"freq":50,"aenergy":{"total":1000}}`))
	require.Equal(t, map[string]any{"smoke": true, "mute": false, "voltage": 230.1, "current": 0.5, "power": 110.2, "freq": 50.0, "energy": 1.0}, r.Metrics)
	r = decodeOne(t, s, "", "dev/events/rpc", frame(`"flood:0":{"id":0,"alarm":false}`))
	require.Equal(t, map[string]any{"water_leak": false}, r.Metrics)

	// The device clock of status/sys is the Reading's time.
	r = decodeOne(t, s, "", "dev/status/sys", `{"mac":"A8032AB12345","uptime":100,"unixtime":1700000100,"time":"12:00"}`)
	require.Equal(t, time.Unix(1700000100, 0).UTC(), r.TS)
	require.Equal(t, map[string]any{"uptime": 100.0}, r.Metrics)

	// Malformed frames.
	_, why := decodeErr(t, s, "", "dev/events/rpc", `{"src":7,"method":"NotifyStatus","params":{}}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	_, why = decodeErr(t, s, "", "dev/events/rpc", `{"src":"dev","method":"NotifyStatus","params":[]}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	_, why = decodeErr(t, s, "", "dev/events/rpc", `{"src":"dev","method":"NotifyStatus","params":{"switch:0":{"apower":1e400}}}`)
	require.Equal(t, devices.ReasonInvalidNumber, why)
	_, why = decodeErr(t, s, "", "dev/events/rpc", `"NotifyStatus"`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	// A missing src cannot disagree with the topic.
	r = decodeOne(t, s, "", "dev/events/rpc", `{"method":"NotifyStatus","params":{"switch:0":{"output":false}}}`)
	require.Equal(t, received, r.TS)
}

func TestShellyGen1Mapping(t *testing.T) {
	s := devices.Shelly{}
	cases := []struct {
		topic, payload string
		metrics        map[string]any
		attrs          map[string]string
	}{
		{"shellies/x/relay/1", "off", map[string]any{"relay:1.state": false, "relay:1.overpower": false}, nil},
		{"shellies/x/relay/1/power", "5", map[string]any{"relay:1.power": 5.0}, nil},
		{"shellies/x/relay/0/overpower_value", "2500", map[string]any{"overpower_value": 2500.0}, nil},
		{"shellies/x/roller/0", "stop", nil, map[string]string{"state": "stop"}},
		{"shellies/x/roller/0/pos", "55", map[string]any{"position": 55.0}, nil},
		{"shellies/x/light/0", "on", map[string]any{"state": true}, nil},
		{"shellies/x/light/0/status", `{"ison":true,"mode":"white","brightness":40}`, map[string]any{"state": true, "brightness": 40.0}, map[string]string{"mode": "white"}},
		{"shellies/x/color/1/energy", "60000", map[string]any{"color:1.energy": 1.0}, nil},
		{"shellies/x/ext_temperature/0", "19.5", map[string]any{"temperature": 19.5}, nil},
		{"shellies/x/ext_temperature/2", "18", map[string]any{"ext_temperature:2.temperature": 18.0}, nil},
		{"shellies/x/ext_humidity/0", "60", map[string]any{"humidity": 60.0}, nil},
		{"shellies/x/voltage", "230.5", map[string]any{"voltage": 230.5}, nil},
		{"shellies/x/sensor/motion", "1", map[string]any{"occupancy": true}, nil},
		{"shellies/x/sensor/tilt", "12", map[string]any{"tilt": 12.0}, nil},
		{"shellies/x/sensor/gas", "none", nil, map[string]string{"gas": "none"}},
		{"shellies/x/status", `{"motion":true,"timestamp":1626188447,"active":true,"vibration":false,"lux":89,"bat":100}`,
			map[string]any{"occupancy": true, "active": true, "vibration": false, "illuminance": 89.0, "battery": 100.0}, nil},
	}
	for _, c := range cases {
		r := decodeOne(t, s, "shellies", c.topic, c.payload)
		require.Equal(t, c.metrics, r.Metrics, c.topic)
		require.Equal(t, c.attrs, r.Attrs, c.topic)
	}
	r := decodeOne(t, s, "shellies", "shellies/x/status", `{"motion":false,"timestamp":1626188447}`)
	require.Equal(t, time.Unix(1626188447, 0).UTC(), r.TS)

	for _, c := range []struct{ topic, payload, why string }{
		{"shellies/x/roller/0", "up", devices.ReasonInvalidPayload},
		{"shellies/x/light/0", "dim", devices.ReasonInvalidPayload},
		{"shellies/x/input/0", "2", devices.ReasonInvalidPayload},
		{"shellies/x/sensor/state", "ajar", devices.ReasonInvalidPayload},
		{"shellies/x/input_event/0", `{}`, devices.ReasonInvalidPayload},
		{"shellies/x/info", `[]`, devices.ReasonInvalidPayload},
		{"shellies/x/sensor/humidity", "NaN", devices.ReasonInvalidNumber},
	} {
		_, why := decodeErr(t, s, "shellies", c.topic, c.payload)
		require.Equal(t, c.why, why, c.topic)
	}
	for _, topic := range []string{"shellies/x/relay/x", "shellies/x/relay/007", "shellies/x/temperature_f", "shellies/x/a/b/c/d", "shellies/x/foo/0"} {
		v, _ := decodeErr(t, s, "shellies", topic, "1")
		require.Equal(t, "ignored", v, topic)
	}
}

func TestShellySampler(t *testing.T) {
	s := devices.Shelly{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gens := map[string]bool{}
	for _, dev := range []string{"a", "b", "c", "d", "e", "f", "hall/plug"} {
		for _, base := range []string{"", "shellies", "site/shelly"} {
			msgs := s.Sample(base, dev, now, rand.New(rand.NewPCG(1, 2)))
			require.NotEmpty(t, msgs)
			for _, m := range msgs {
				require.True(t, matchesShelly(s, base, m.Topic), m.Topic)
				rs, err := s.Decode(base, m)
				require.NoError(t, err, "%s %s", m.Topic, m.Payload)
				require.Len(t, rs, 1)
				require.Equal(t, dev, rs[0].Device)
				devicestest.CheckReading(t, s, rs[0])
			}
			gens[string(msgs[0].Topic[len(msgs[0].Topic)-3:])] = true
			for _, online := range []bool{true, false} {
				m, ok := s.Availability(base, dev, online)
				require.True(t, ok)
				m.ReceivedAt = now
				r := decodeOneMsg(t, s, base, m)
				require.Equal(t, online, *r.Online)
				require.Equal(t, dev, r.Device)
			}
		}
	}
	require.True(t, gens["rpc"] && gens["y/0"], "both generations are simulated: %v", gens)
}

func matchesShelly(h devices.Handler, base, topic string) bool {
	for _, f := range h.Filters(base) {
		if devices.Match(f, topic) {
			return true
		}
	}
	return false
}

func decodeOneMsg(t *testing.T, h devices.Handler, base string, m devices.Message) devices.Reading {
	t.Helper()
	rs, err := h.Decode(base, m)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	devicestest.CheckReading(t, h, rs[0])
	return rs[0]
}

func FuzzShelly(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("shellies/dev/events/rpc", p.Data)
		}
	}
	f.Add("shellies/dev/events/rpc", []byte(`{"src":"dev","dst":"shellies/dev/events","method":"NotifyFullStatus","params":{"ts":1700000000.12,"switch:0":{"output":true,"aenergy":{"total":1}},"devicepower:0":{"battery":{"V":3,"percent":50}},"sys":{"uptime":1}}}`))
	f.Add("shellies/dev/events/rpc", []byte(`{"src":"dev","method":"NotifyEvent","params":{"ts":1,"events":[{"component":"input:0","event":"single_push","ts":1700000000}]}}`))
	f.Add("shellies/dev/status/em:0", []byte(`{"total_act_power":1,"a_voltage":230}`))
	f.Add("shellies/dev/relay/0", []byte(`overpower`))
	f.Add("shellies/dev/relay/0/energy", []byte(`123`))
	f.Add("shellies/dev/emeter/1/total", []byte(`1e3`))
	f.Add("shellies/dev/info", []byte(`{"relays":[{"ison":true}],"meters":[{"total":60000,"overpower":1}],"inputs":[{"input":1}],"tmp":{"value":1,"tC":1},"ext_temperature":{"0":{"tC":3}}}`))
	f.Add("shellies/dev/input_event/0", []byte(`{"event":"L","event_cnt":3}`))
	f.Add("shellies/dev/online", []byte(`true`))
	f.Add("shellies/dev/status", []byte(`{"switch:0":{"output":true},"sys":{"uptime":1,"unixtime":1654694407},"wifi":{"rssi":-62}}`))
	f.Add("dev/status", []byte(`{"sys":5}`))
	f.Add("shellies/kitchen/plug/relay/0/power", []byte(`23.47`))
	f.Add("shellies/a/relay/relay/0", []byte(`on`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.Shelly{}, "shellies", topic, payload)
		fuzzDecode(t, devices.Shelly{}, "", topic, payload)
	})
}
