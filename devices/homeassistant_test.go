package devices_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func newHA(t testing.TB, filters ...string) *devices.HomeAssistant {
	h, err := devices.NewHomeAssistant(devices.HomeAssistantConfig{StateFilters: filters})
	require.NoError(t, err)
	return h
}

func TestHomeAssistantConformance(t *testing.T) {
	devicestest.Run(t, newHA(t))
	devicestest.Run(t, newHA(t, "site/+/state/#"))
}

func TestHomeAssistantFixtures(t *testing.T) {
	devicestest.Fixtures(t, newHA(t, "sensorBedroom/#", "zigbee2mqtt/#"), "testdata/homeassistant")
}

func TestHomeAssistantOverlap(t *testing.T) {
	_, err := devices.NewRegistry(devices.Builtin()...) // HomeAssistant and ESPHome among them
	require.NoError(t, err)
	// A state filter over another source's tree is refused, by design.
	_, err = devices.NewRouter(
		devices.Mount{Base: "zigbee2mqtt", Handler: devices.Zigbee2MQTT{}},
		devices.Mount{Base: "homeassistant", Handler: newHA(t, "zigbee2mqtt/#")})
	require.Error(t, err)
	_, err = devices.NewHomeAssistant(devices.HomeAssistantConfig{StateFilters: []string{"a/#/b"}})
	require.Error(t, err)
}

func TestHomeAssistantTemplates(t *testing.T) {
	h := newHA(t)
	cases := []struct {
		tpl, payload string
		want         map[string]any
		attrs        map[string]string
	}{
		{`{{ value }}`, `21.5`, map[string]any{"temperature": 21.5}, nil},
		{`{{ value | float }}`, `21.5`, map[string]any{"temperature": 21.5}, nil},
		{`{{ value | int }}`, `21.9`, map[string]any{"temperature": 21.0}, nil},
		{`{{ value_json.x }}`, `{"x":21}`, map[string]any{"temperature": 21.0}, nil},
		{`{{ value_json['x'] }}`, `{"x":21}`, map[string]any{"temperature": 21.0}, nil},
		{`{{ value_json["DHT11"]["Temperature"] }}`, `{"DHT11":{"Temperature":20.25}}`, map[string]any{"temperature": 20.25}, nil},
		{`{{value_json['DHT11'].Temperature}}`, `{"DHT11":{"Temperature":20.25}}`, map[string]any{"temperature": 20.25}, nil},
		{`{{ value_json.a.b | round(1) }}`, `{"a":{"b":21.46}}`, map[string]any{"temperature": 21.5}, nil},
		{`{{ value_json.a[1] | float(0) | round(0) }}`, `{"a":[1,"21.6"]}`, map[string]any{"temperature": 22.0}, nil},
		{`{{ value_json.x | is_defined }}`, `{"x":"21"}`, map[string]any{"temperature": 21.0}, nil},
		{`{{ value_json.x }}`, `{"y":1}`, nil, nil},         // undefined: no metric
		{`{{ value_json.x }}`, `{"x":"unknown"}`, nil, nil}, // HA's "no state"
		{`{{ (value_json.x | float) * 10 }}`, `{"x":2}`, nil, map[string]string{"temperature": `{"x":2}`}},
		{`{% if value == "1" %}on{% endif %}`, `1`, nil, map[string]string{"temperature": `1`}},
	}
	for i, c := range cases {
		topic := fmt.Sprintf("homeassistant/sensor/t%d", i)
		learn(t, h, "homeassistant", topic+"/config",
			fmt.Sprintf(`{"device_class":"temperature","unit_of_measurement":"°C","state_topic":%q,"value_template":%q,"device":{"identifiers":"d%d"}}`, topic+"/state", c.tpl, i))
		r := decodeOne(t, h, "homeassistant", topic+"/state", c.payload)
		require.Equal(t, fmt.Sprint("d", i), r.Device)
		if c.want == nil {
			require.Empty(t, r.Metrics, c.tpl)
		} else {
			require.Equal(t, c.want, r.Metrics, c.tpl)
		}
		if c.attrs != nil {
			require.Equal(t, c.attrs, r.Attrs, c.tpl)
		}
	}
}

func TestHomeAssistantNamesAndUnits(t *testing.T) {
	h := newHA(t)
	cfg := func(obj, class, unit, tpl string) string {
		return fmt.Sprintf(`{"obj_id":%q,"dev_cla":%q,"unit_of_meas":%q,"stat_t":"homeassistant/dev1/state","val_tpl":%q,"dev":{"ids":["dev1"]},"avty":[{"t":"homeassistant/dev1/lwt","pl_avail":"Online","pl_not_avail":"Offline"}]}`, obj, class, unit, tpl)
	}
	learn(t, h, "homeassistant",
		"homeassistant/sensor/dev1/t1/config", cfg("t1", "temperature", "°F", "{{ value_json.t1 }}"),
		"homeassistant/sensor/dev1/t2/config", cfg("probe_2", "temperature", "°C", "{{ value_json.t2 }}"),
		"homeassistant/sensor/dev1/e/config", cfg("e", "energy", "Wh", "{{ value_json.e }}"),
		"homeassistant/sensor/dev1/p/config", cfg("p", "pressure", "kPa", "{{ value_json.p }}"),
		"homeassistant/sensor/dev1/rssi/config", cfg("rssi", "signal_strength", "dBm", "{{ value_json.rssi }}"),
		"homeassistant/sensor/dev1/sig/config", cfg("sig", "signal_strength", "%", "{{ value_json.sig }}"),
		"homeassistant/sensor/dev1/bv/config", cfg("bv", "battery", "mV", "{{ value_json.bv }}"),
		"homeassistant/sensor/dev1/voc/config", cfg("voc", "volatile_organic_compounds_parts", "ppm", "{{ value_json.voc }}"),
		"homeassistant/sensor/dev1/x/config", cfg("x", "", "", "{{ value_json.SoilMoisture }}"),
		"homeassistant/sensor/dev1/fw/config", cfg("fw", "", "", "{{ value_json.fw }}"),
	)
	r := decodeOne(t, h, "homeassistant", "homeassistant/dev1/state",
		`{"t1":70.7,"t2":19.5,"e":1500,"p":101.3,"rssi":-60,"sig":80,"bv":3010,"voc":0.25,"SoilMoisture":33,"fw":"1.2.3"}`)
	require.Equal(t, "dev1", r.Device)
	require.Equal(t, map[string]any{"temperature": 21.5, "t2.temperature": 19.5, "energy": 1.5, "pressure": 1013.0,
		"rssi": -60.0, "signal": 80.0, "voltage": 3.01, "voc": 250.0, "soil_moisture": 33.0}, r.Metrics)
	require.Equal(t, "1.2.3", r.Attrs["fw"])
	r = decodeOne(t, h, "homeassistant", "homeassistant/dev1/lwt", "Offline")
	require.False(t, *r.Online)
	_, why := decodeErr(t, h, "homeassistant", "homeassistant/dev1/lwt", "offline")
	require.Equal(t, devices.ReasonInvalidPayload, why)
	// Removing the primary releases its name; re-learning the second one claims it.
	learn(t, h, "homeassistant", "homeassistant/sensor/dev1/t1/config", "")
	learn(t, h, "homeassistant", "homeassistant/sensor/dev1/t2/config", cfg("probe_2", "temperature", "°C", "{{ value_json.t2 }}"))
	r = decodeOne(t, h, "homeassistant", "homeassistant/dev1/state", `{"t1":70.7,"t2":19.5}`)
	require.Equal(t, map[string]any{"temperature": 19.5}, r.Metrics)
	// Another base is another source.
	v, _ := decodeErr(t, h, "site2", "site2/dev1/state", `{"t2":1}`)
	require.Equal(t, "ignored", v)
	_, why = decodeErr(t, h, "homeassistant", "elsewhere/dev1/state", `{}`)
	require.Equal(t, devices.ReasonInvalidTopic, why)
}

func TestHomeAssistantLightAndSwitch(t *testing.T) {
	h := newHA(t)
	learn(t, h, "homeassistant",
		"homeassistant/light/lamp/config", `{"schema":"json","name":"Lamp","stat_t":"homeassistant/light/lamp/state","uniq_id":"lamp1","dev":{"ids":"lamp"}}`,
		"homeassistant/switch/lamp/usb/config", `{"name":"USB","stat_t":"homeassistant/switch/lamp/usb/state","stat_on":"1","stat_off":"0","uniq_id":"lamp_usb","dev":{"ids":"lamp"}}`,
	)
	r := decodeOne(t, h, "homeassistant", "homeassistant/light/lamp/state", `{"state":"ON","brightness":128,"color_mode":"xy","color":{"x":0.3,"y":0.3}}`)
	require.Equal(t, map[string]any{"state": true, "brightness": 128.0, "color.x": 0.3, "color.y": 0.3}, r.Metrics)
	r = decodeOne(t, h, "homeassistant", "homeassistant/switch/lamp/usb/state", `1`)
	require.Equal(t, map[string]any{"usb.state": true}, r.Metrics)
}

func TestHomeAssistantBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills the table")
	}
	h := newHA(t)
	for i := 0; i < devices.MaxLearnt+10; i++ {
		_, _ = h.Decode("homeassistant", devices.Message{Topic: fmt.Sprintf("homeassistant/sensor/n%d/config", i),
			Payload: []byte(fmt.Sprintf(`{"stat_t":"s/%d","dev":{"ids":"d"}}`, i)), ReceivedAt: received})
	}
	require.Equal(t, devices.MaxLearnt, h.Learnt())
}

func FuzzHomeAssistant(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("homeassistant/sensor/x/config", p.Data)
		}
	}
	f.Add("homeassistant/device/d/config", []byte(`{"dev":{"ids":"d"},"cmps":{"a":{"p":"sensor","val_tpl":"{{ value_json.a[0] | round(2) }}"}},"stat_t":"homeassistant/d/s","avty_t":"homeassistant/d/a"}`))
	f.Add("homeassistant/d/s", []byte(`{"a":[1.234]}`))
	f.Add("homeassistant/sensor/n/o/config", []byte(`{"~":"homeassistant/x","stat_t":"~/s","val_tpl":"{{ value | float }}","dev_cla":"temperature","unit_of_meas":"°F"}`))
	f.Add("homeassistant/x/s", []byte(`70`))
	h := newHA(f)
	// Seed configs so fuzzed states reach the value decoders.
	for _, cfg := range []string{
		`{"stat_t":"homeassistant/s/json","val_tpl":"{{ value_json.a.b }}","dev":{"ids":"d"}}`,
		`{"stat_t":"homeassistant/s/raw","dev_cla":"temperature","unit_of_meas":"°F","dev":{"ids":"d"}}`,
	} {
		_, _ = h.Decode("homeassistant", devices.Message{Topic: "homeassistant/sensor/" + fmt.Sprint(len(cfg)) + "/config", Payload: []byte(cfg)})
	}
	_, _ = h.Decode("homeassistant", devices.Message{Topic: "homeassistant/light/l/config", Payload: []byte(`{"schema":"json","stat_t":"homeassistant/s/light","dev":{"ids":"d"}}`)})
	f.Add("homeassistant/s/json", []byte(`{"a":{"b":1}}`))
	f.Add("homeassistant/s/light", []byte(`{"state":"ON","brightness":1}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, h, "homeassistant", topic, payload)
	})
}
