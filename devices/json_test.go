package devices_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// TestJSONFixtures builds one handler per fixture file from its config.
func TestJSONFixtures(t *testing.T) {
	configuredFixtures(t, "testdata/json/*.json", devices.NewJSON)
}

func TestNewJSONErrors(t *testing.T) {
	for name, cfg := range map[string]devices.JSONConfig{
		"no pattern":           {},
		"no device level":      {Pattern: "sensors/+/state"},
		"two device levels":    {Pattern: "{device}/{device}"},
		"hash":                 {Pattern: "{device}/#"},
		"partial wildcard":     {Pattern: "s+/{device}"},
		"typo placeholder":     {Pattern: "sensors/{id}/{device}"},
		"bad name":             {Name: "Plant-Sensors", Pattern: "{device}"},
		"bad metric name":      {Pattern: "{device}", Fields: map[string]string{"Temp": "t"}},
		"empty path segment":   {Pattern: "{device}", Fields: map[string]string{"temperature": "env..t"}},
		"unknown unit":         {Pattern: "{device}", Units: map[string]string{"temperature": "furlongs"}},
		"timestamp is $":       {Pattern: "{device}", Timestamp: "$"},
		"bad attr name":        {Pattern: "{device}", Attrs: map[string]string{"": "x"}},
		"negative stale":       {Pattern: "{device}", StaleAfter: -1},
		"overlapping avail":    {Pattern: "{device}/+", Availability: &devices.JSONAvailability{Pattern: "{device}/status"}},
		"avail without device": {Pattern: "{device}/state", Availability: &devices.JSONAvailability{Pattern: "status"}},
		"same online offline":  {Pattern: "{device}/state", Availability: &devices.JSONAvailability{Pattern: "{device}/lwt", Online: "x", Offline: "x"}},
	} {
		_, err := devices.NewJSON(cfg)
		require.Error(t, err, name)
	}
}

func TestJSONMapped(t *testing.T) {
	avail := &devices.JSONAvailability{Pattern: "plants/{device}/lwt", Field: "status", Online: "up", Offline: "down"}
	h, err := devices.NewJSON(devices.JSONConfig{
		Name:    "plant_sensors",
		Pattern: "plants/{device}/+/state",
		Fields: map[string]string{
			"temperature": "env.temp_f", "humidity": "env.rh", "voltage": "power.mv",
			"state": "relay", "soil": "soil.1", "co2": "co2",
		},
		Attrs:        map[string]string{"firmware": "fw", "rssi_text": "radio.rssi"},
		Units:        map[string]string{"temperature": "F", "voltage": "mV"},
		Timestamp:    "ts",
		DeviceField:  "id",
		Availability: avail,
	})
	require.NoError(t, err)
	require.Equal(t, "plant_sensors", h.Family())
	require.Equal(t, []string{"farm/plants/+/+/state", "farm/plants/+/lwt"}, h.Filters("farm"))
	defaults := &devices.JSONAvailability{Pattern: "{device}/lwt"}
	_, err = devices.NewJSON(devices.JSONConfig{Pattern: "{device}/state", Availability: defaults})
	require.NoError(t, err)
	require.Empty(t, defaults.Online, "the caller's config is not modified")
	require.Equal(t, "up", h.Config().Availability.Online)

	r := decodeOne(t, h, "farm", "farm/plants/p7/zone-b/state",
		`{"id":"p7","ts":1767322980,"env":{"temp_f":70.7,"rh":"55.5"},"power":{"mv":3300},"relay":"ON","soil":[10,42],"co2":null,"fw":"1.2.3","radio":{"rssi":-70}}`)
	require.Equal(t, "p7", r.Device)
	require.Equal(t, map[string]any{"temperature": 21.5, "humidity": 55.5, "voltage": 3.3, "state": true, "soil": 42.0}, r.Metrics)
	require.Equal(t, map[string]string{"firmware": "1.2.3", "rssi_text": "-70"}, r.Attrs)
	require.Equal(t, "2026-01-02T03:03:00Z", r.TS.Format("2006-01-02T15:04:05Z07:00"))

	_, why := decodeErr(t, h, "farm", "farm/plants/p7/zone-b/state", `{"id":"p8","env":{"temp_f":1}}`)
	require.Equal(t, devices.ReasonIdentityMismatch, why)
	_, why = decodeErr(t, h, "farm", "farm/plants/p7/zone-b/state", `{"env":{"temp_f":"1e999"}}`)
	require.Equal(t, devices.ReasonInvalidNumber, why)
	_, why = decodeErr(t, h, "farm", "farm/other/p7", `{}`)
	require.Equal(t, devices.ReasonInvalidTopic, why)
	_, why = decodeErr(t, h, "farm", "farm/plants//zone/state", `{}`)
	require.Equal(t, devices.ReasonInvalidTopic, why)

	r = decodeOne(t, h, "farm", "farm/plants/p7/lwt", `{"status":"down"}`)
	require.False(t, *r.Online)
	_, why = decodeErr(t, h, "farm", "farm/plants/p7/lwt", `down`)
	require.Equal(t, devices.ReasonInvalidJSON, why)
}

func TestJSONPassThrough(t *testing.T) {
	h, err := devices.NewJSON(devices.JSONConfig{Pattern: "{device}", Timestamp: "time", Units: map[string]string{"energy": "Wh"}})
	require.NoError(t, err)
	require.Equal(t, "json", h.Family())
	require.Equal(t, 15*time.Minute, h.StaleAfter())
	r := decodeOne(t, h, "", "dev1", `{"Temperature":21.5,"energy":1500,"Online":true,"model":"x1","time":"2026-01-02T03:03:00Z","nested":{"a":1},"list":[1]}`)
	require.Equal(t, map[string]any{"temperature": 21.5, "energy": 1.5, "online": true}, r.Metrics)
	require.Equal(t, map[string]string{"model": "x1"}, r.Attrs)
	require.Nil(t, r.Online, "an 'online' field is data, not the availability signal")
	_, ok := h.Availability("", "dev1", true)
	require.False(t, ok)
}

func FuzzJSON(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("base/sensors/dev/state", p.Data)
		}
	}
	f.Add("base/sensors/dev/state", []byte(`{"env":{"t":21.5,"list":[1,2,{"x":true}]},"ts":1767322980000,"id":"dev"}`))
	f.Add("base/sensors/dev/status", []byte(`{"state":"online"}`))
	f.Add("base/sensors/dev/state", []byte(`"21.5"`))
	mapped, err := devices.NewJSON(devices.JSONConfig{
		Name: "fuzz_mapped", Pattern: "sensors/{device}/state",
		Fields:       map[string]string{"temperature": "env.t", "state": "env.list.2.x", "humidity": "$"},
		Attrs:        map[string]string{"id": "id"},
		Units:        map[string]string{"temperature": "F"},
		Timestamp:    "ts",
		DeviceField:  "id",
		Availability: &devices.JSONAvailability{Pattern: "sensors/{device}/status", Field: "state"},
	})
	if err != nil {
		f.Fatal(err)
	}
	plain, err := devices.NewJSON(devices.JSONConfig{Name: "fuzz_plain", Pattern: "sensors/{device}/state"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, mapped, "base", topic, payload)
		fuzzDecode(t, plain, "base", topic, payload)
	})
}
