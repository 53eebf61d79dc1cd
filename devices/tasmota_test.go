package devices_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestTasmotaFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.Tasmota{}, "testdata/tasmota")
}

func TestTasmotaMapping(t *testing.T) {
	ta := devices.Tasmota{}
	// Multi-channel meter (Shelly 2.5 style arrays) and a second power source.
	r := decodeOne(t, ta, "", "tele/shelly25/SENSOR",
		`{"Time":"2024-01-01T00:00:00","ANALOG":{"Temperature":48.2},"ENERGY":{"Total":1.5,"Power":[12.5,3],"Voltage":230,"Current":[0.05,0.01]},"INA219":{"Voltage":5.1,"Current":0.2,"Power":1.02},"TempUnit":"C"}`)
	require.Equal(t, map[string]any{
		"temperature": 48.2,
		"energy":      1.5, "power": 12.5, "channel2.power": 3.0, "voltage": 230.0, "current": 0.05, "channel2.current": 0.01,
		"INA219.voltage": 5.1, "INA219.current": 0.2, "INA219.power": 1.02,
	}, r.Metrics)

	// Fahrenheit converts temperatures and dew point, not humidity.
	r = decodeOne(t, ta, "", "tele/x/SENSOR", `{"AM2301":{"Temperature":70.7,"Humidity":40,"DewPoint":45.5},"TempUnit":"F"}`)
	require.Equal(t, map[string]any{"temperature": 21.5, "humidity": 40.0, "dew_point": 7.5}, r.Metrics)

	// Relays of STATE: POWER1 is primary, POWERn a second instance.
	r = decodeOne(t, ta, "", "tele/4ch/STATE", `{"POWER1":"ON","POWER2":"OFF","POWER3":"ON"}`)
	require.Equal(t, map[string]any{"state": true, "power2.state": false, "power3.state": true}, r.Metrics)
	_, why := decodeErr(t, ta, "", "tele/4ch/STATE", `{"POWER1":"AN"}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)

	// INFO1, wrapped as since 12.x.
	r = decodeOne(t, ta, "", "tele/x/INFO1", `{"Info1":{"Module":"Sonoff Basic","Version":"13.1.0(tasmota)","FallbackTopic":"cmnd/DVES_123ABC_fb/","GroupTopic":"cmnd/tasmotas/"}}`)
	require.Equal(t, map[string]string{"module": "Sonoff Basic", "version": "13.1.0(tasmota)", "fallback_topic": "cmnd/DVES_123ABC_fb/", "group_topic": "cmnd/tasmotas/"}, r.Attrs)
	r = decodeOne(t, ta, "", "tele/x/INFO2", `{"Info2":{"WebServerMode":"Admin","Hostname":"x-1234","IPAddress":"192.168.1.20"}}`)
	require.Equal(t, "192.168.1.20", r.Attrs["ip_address"])

	// UPTIME carries uptime only.
	r = decodeOne(t, ta, "", "tele/x/UPTIME", `{"Time":"2024-01-01T00:00:00","Uptime":"0T01:00:00","UptimeSec":3600}`)
	require.Equal(t, map[string]any{"uptime": 3600.0}, r.Metrics)

	// A device clock before NTP sync is not trusted.
	r = decodeOne(t, ta, "", "tele/x/SENSOR", `{"Time":"1970-01-01T00:00:12","DS18B20":{"Temperature":20}}`)
	require.Equal(t, received, r.TS)

	// Custom base (FullTopic home/%prefix%/%topic%/).
	r = decodeOne(t, ta, "home", "home/tele/x/LWT", `Online`)
	require.True(t, *r.Online)
}

func TestTasmotaTopics(t *testing.T) {
	ta := devices.Tasmota{}
	for _, topic := range []string{"tele/x", "tele//STATE", "x", "tele/STATE"} {
		_, why := decodeErr(t, ta, "", topic, `{}`)
		require.Equal(t, devices.ReasonInvalidTopic, why, topic)
	}
	v, _ := decodeErr(t, ta, "", "cmnd/x/POWER", `ON`)
	require.Equal(t, "ignored", v)
	v, _ = decodeErr(t, ta, "", "stat/x/POWER0", `ON`)
	require.Equal(t, "ignored", v)
	for _, sub := range []string{"STATUS+1", "STATUS-1", "STATUS01", "STATUS123", "STATUSX"} {
		v, _ = decodeErr(t, ta, "", "stat/x/"+sub, `{"StatusNET":{"Hostname":"h"}}`)
		require.Equal(t, "ignored", v, sub)
	}
	v, _ = decodeErr(t, ta, "", "tele/x/HASS_STATE", `{}`)
	require.Equal(t, "ignored", v)
	_, why := decodeErr(t, ta, "", "tele/x/LWT", `Maybe`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	_, why = decodeErr(t, ta, "", "stat/x/POWER", "\xff")
	require.Equal(t, devices.ReasonInvalidUTF8, why)
}

func FuzzTasmota(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("tele/dev/SENSOR", p.Data)
		}
	}
	f.Add("tele/dev/SENSOR", []byte(`{"Time":"2021-01-02T09:09:44","DS18B20-1":{"Id":"00000566CC39","Temperature":13.3},"DS18B20-2":{"Temperature":1.2},"ENERGY":{"Power":[1,2]},"TempUnit":"F"}`))
	f.Add("tele/dev/STATE", []byte(`{"Time":"2024-02-24T22:20:38","Uptime":"0T00:10:11","UptimeSec":611,"POWER":"OFF","Wifi":{"RSSI":44,"Signal":-78}}`))
	f.Add("stat/dev/STATUS10", []byte(`{"StatusSNS":{"Time":"2018.02.04 23:17:01","ENERGY":{"Total":3.185}}}`))
	f.Add("stat/dev/POWER2", []byte(`ON`))
	f.Add("stat/dev/RESULT", []byte(`{"POWER":"ON"}`))
	f.Add("tele/dev/LWT", []byte(`Offline`))
	f.Add("tele/dev/INFO1", []byte(`{"Info1":{"Module":"Generic"}}`))
	f.Add("tele/kitchen/plug/STATE", []byte(`{"POWER":1}`))
	f.Add("stat/dev/STATUS0", []byte(`{"Status":{"FriendlyName":["a"]},"StatusPRM":{"Uptime":"1 02:33:26","BootCount":3},"StatusNET":{"Hostname":"h"},"StatusSNS":{"Time":"2018.02.15 01:00:50","Switch1":"OFF"},"StatusSTS":{"POWER":"OFF"}}`))
	f.Add("stat/dev/STATUS5", []byte(`{"StatusNET":5}`))
	f.Add("stat/dev/POWER", []byte(`TOGGLE`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.Tasmota{}, "", topic, payload)
	})
}

// TestTasmotaConfiguredFixtures builds one handler per fixture file of
// testdata/tasmota/full_topic from its config (FullTopic, StateText).
func TestTasmotaConfiguredFixtures(t *testing.T) {
	configuredFixtures(t, "testdata/tasmota/full_topic/*.json", devices.NewTasmota)
}

func TestTasmotaFullTopic(t *testing.T) {
	for ft, filters := range map[string][]string{
		"":                                    {"tele/#", "stat/#"},
		"%prefix%/%topic%/":                   {"tele/#", "stat/#"},
		"%prefix%/%topic%":                    {"tele/#", "stat/#"},
		"tasmota/%topic%/%prefix%/":           {"tasmota/#"},
		"lights//%prefix%/%topic%/":           {"lights/tele/#", "lights/stat/#"},
		"%topic%/%prefix%/":                   {"#"},
		"%prefix%/%hostname%/%topic%/":        {"tele/+/#", "stat/+/#"},
		"penthouse/bedroom1/%topic%/%prefix%": {"penthouse/bedroom1/#"},
	} {
		h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: ft})
		require.NoError(t, err, ft)
		require.Equal(t, filters, h.Filters(""), ft)
	}
	h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: "%prefix%/%topic%/"})
	require.NoError(t, err)
	require.Equal(t, devices.Tasmota{}, h, "the default FullTopic is the zero value")
	require.Equal(t, []string{"site/tele/#", "site/stat/#"}, h.Filters("site"))

	for _, ft := range []string{
		"%topic%/",               // no %prefix%
		"%prefix%/",              // no %topic%
		"tele-%topic%/%prefix%/", // a token inside a level
		"%prefix%/%topic%/%topic%/",
		"%prefix%/%topic%/%mac%/", // not a Tasmota token
		"%prefix%/+/%topic%/",
		"home/#/%prefix%/%topic%",
		"$SYS/%prefix%/%topic%/",
	} {
		_, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: ft})
		require.Error(t, err, ft)
		require.ErrorContains(t, err, "full_topic", ft)
	}
	for _, st := range [][]string{{"A", "B", "C", "D", "E"}, {"AN", "AN"}, {`"ON"`}, {strings.Repeat("x", 33)}} {
		_, err := devices.NewTasmota(devices.TasmotaConfig{StateText: st})
		require.Error(t, err, "%q", st)
		require.ErrorContains(t, err, "state_text", "%q", st)
	}
}

// TestTasmotaFullTopicRoundTrip: what Sample and Command write in a
// configured FullTopic is what Decode reads back.
func TestTasmotaFullTopicRoundTrip(t *testing.T) {
	for _, ft := range []string{"tasmota/%topic%/%prefix%/", "%prefix%/home/%topic%/", "%prefix%/%id%/%hostname%/%topic%/"} {
		h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: ft})
		require.NoError(t, err)
		if !strings.Contains(ft, "%id%") {
			// The conformance kit commands through Command, without the
			// hostname and id a device's telemetry gives.
			devicestest.RunDevice(t, h, "kitchen/plug")
		}
		av, ok := h.Availability("", "kitchen/plug", true)
		require.True(t, ok)
		r := decodeOne(t, h, "", av.Topic, string(av.Payload))
		require.Equal(t, "kitchen/plug", r.Device, ft)

		state := devices.DeviceState{Reading: r}
		m, err := h.CommandWithState("", state, "on", nil)
		require.NoError(t, err, ft)
		require.True(t, strings.HasSuffix(m.Topic, "/Power"), m.Topic)
		require.Contains(t, m.Topic, "kitchen/plug", m.Topic)
		require.NotContains(t, m.Topic, "%", m.Topic)
	}
	// Without the hostname heard yet, a command cannot name the topic.
	h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: "%prefix%/%hostname%/%topic%/"})
	require.NoError(t, err)
	_, err = h.Command("", "plug", "on", nil)
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
}

// FuzzTasmotaFullTopic fuzzes the FullTopic parser and decoding with the
// FullTopic it accepts: no panic, and what decodes is a valid Reading.
func FuzzTasmotaFullTopic(f *testing.F) {
	f.Add("tasmota/%topic%/%prefix%/", "tasmota/kitchen/plug/stat/POWER", []byte(`ON`))
	f.Add("%prefix%/home/cellar/%topic%/", "stat/home/cellar/t/STATUS10", []byte(`{"StatusSNS":{"AM2301":{"Temperature":15.5}}}`))
	f.Add("%prefix%/%hostname%/%topic%/", "tele/h-1/t/LWT", []byte(`Online`))
	f.Add("%topic%/%prefix%", "a/b/tele/STATE", []byte(`{"POWER":1}`))
	f.Add("//%prefix%//%id%/%topic%//", "/tele/A0B1/t/SENSOR", []byte(`{}`))
	f.Add("%prefix%/x-%topic%/", "tele/x-t/LWT", []byte(`Online`))
	f.Fuzz(func(t *testing.T, fullTopic, topic string, payload []byte) {
		h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: fullTopic, StateText: []string{"AUS", "AN"}})
		if err != nil {
			return
		}
		for _, flt := range h.Filters("") {
			if devices.ValidFilter(flt) != nil {
				t.Fatalf("full_topic %q: invalid filter %q", fullTopic, flt)
			}
		}
		fuzzDecode(t, h, "", topic, payload)
	})
}
