package devices_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestHomieConformance(t *testing.T) { devicestest.Run(t, devices.NewHomie()) }

func TestHomieFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.NewHomie(), "testdata/homie")
}

func TestHomieOverlap(t *testing.T) {
	_, err := devices.NewRegistry(devices.Builtin()...) // Homie among them
	require.NoError(t, err)
}

// TestHomieValuesBeforeAttributes: a value that arrives before its
// property's $datatype (or on a device that never sends one) is a Reading
// named from the property id, read by its form; $datatype and $unit refine
// the next one. Topics and values are the convention's kitchen-light and
// super-car examples (https://homieiot.github.io/specification/spec-core-v4_0_0/).
func TestHomieValuesBeforeAttributes(t *testing.T) {
	h := devices.NewHomie()
	r := decodeOne(t, h, "homie", "homie/kitchen-light/light/power", "true")
	require.Equal(t, map[string]any{"light.state": true}, r.Metrics, "a boolean power is the state")
	r = decodeOne(t, h, "homie", "homie/super-car/engine/temperature", "21.5")
	require.Equal(t, map[string]any{"engine.temperature": 21.5}, r.Metrics)
	r = decodeOne(t, h, "homie", "homie/super-car/engine/direction", "forward")
	require.Equal(t, map[string]string{"engine.direction": "forward"}, r.Attrs)
	r = decodeOne(t, h, "homie", "homie/super-car/engine/speed", "\x00")
	require.Equal(t, map[string]string{"engine.speed": ""}, r.Attrs, "v5's empty string")
	// The attributes arrive: the same property is refined.
	learn(t, h, "homie",
		"homie/super-car/$nodes", "engine,wheels",
		"homie/super-car/engine/temperature/$unit", "°F",
		"homie/super-car/engine/direction/$datatype", "enum",
		"homie/super-car/engine/speed/$datatype", "integer",
	)
	r = decodeOne(t, h, "homie", "homie/super-car/engine/temperature", "70.7")
	require.Equal(t, map[string]any{"temperature": 21.5}, r.Metrics, "primary node and °F → °C")
	_, why := decodeErr(t, h, "homie", "homie/super-car/engine/speed", "fast")
	require.Equal(t, devices.ReasonInvalidPayload, why, "a declared integer is checked")
	// A number out of float64 range by form is text, not a crash or a metric.
	r = decodeOne(t, h, "homie", "homie/super-car/engine/torque", "1e400")
	require.Equal(t, map[string]string{"torque": "1e400"}, r.Attrs)
}

func TestHomieNodesAndUnits(t *testing.T) {
	h := devices.NewHomie()
	learn(t, h, "homie",
		"homie/th/$nodes", "sensor,probe",
		"homie/th/sensor/temperature/$datatype", "float",
		"homie/th/sensor/temperature/$unit", "°F",
		"homie/th/probe/temperature/$datatype", "float",
		"homie/th/sensor/pressure/$unit", "Pa", // no datatype yet: read by form
		"homie/th/sensor/label/$name", "Label",
	)
	r := decodeOne(t, h, "homie", "homie/th/sensor/temperature", "70.7")
	require.Equal(t, map[string]any{"temperature": 21.5}, r.Metrics)
	r = decodeOne(t, h, "homie", "homie/th/probe/temperature", "19")
	require.Equal(t, map[string]any{"probe.temperature": 19.0}, r.Metrics)
	// No $datatype yet: read by form, the learnt $unit already applies.
	r = decodeOne(t, h, "homie", "homie/th/sensor/pressure", "101325")
	require.Equal(t, map[string]any{"pressure": 1013.25}, r.Metrics)
	learn(t, h, "homie", "homie/th/sensor/pressure/$datatype", "integer")
	r = decodeOne(t, h, "homie", "homie/th/sensor/pressure", "101325")
	require.Equal(t, map[string]any{"pressure": 1013.25}, r.Metrics)
	learn(t, h, "homie", "homie/th/sensor/label/$datatype", "string")
	r = decodeOne(t, h, "homie", "homie/th/sensor/label", "Porch")
	require.Equal(t, map[string]string{"label": "Porch"}, r.Attrs)
	// Another base is another source: nothing learnt there (no unit, no
	// primary node), the value is read by form.
	r = decodeOne(t, h, "site2/homie", "site2/homie/th/sensor/temperature", "70.7")
	require.Equal(t, map[string]any{"sensor.temperature": 70.7}, r.Metrics)
	// A cleared datatype (empty retained payload): read by form again,
	// with the unit still learnt.
	learn(t, h, "homie", "homie/th/sensor/temperature/$datatype", "")
	r = decodeOne(t, h, "homie", "homie/th/sensor/temperature", "32")
	require.Equal(t, map[string]any{"temperature": 0.0}, r.Metrics)
	_, why := decodeErr(t, h, "homie", "homie/th/sensor/temperature/$unit", "\x00")
	require.Equal(t, devices.ReasonInvalidPayload, why)
	// Legacy stats.
	r = decodeOne(t, h, "homie", "homie/th/$stats/uptime", "120")
	require.Equal(t, map[string]any{"uptime": 120.0}, r.Metrics)
	r = decodeOne(t, h, "homie", "homie/th/$stats/signal", "24")
	require.Equal(t, map[string]any{"signal": 24.0}, r.Metrics)
	_, why = decodeErr(t, h, "homie", "homie/th/$stats/battery", "full")
	require.Equal(t, devices.ReasonInvalidPayload, why)
	_, why = decodeErr(t, h, "homie", "homie/th/$nodes", "a,b/c")
	require.Equal(t, devices.ReasonInvalidPayload, why)
	_, why = decodeErr(t, h, "homie", "homie/th", "x")
	require.Equal(t, devices.ReasonInvalidTopic, why)
	_, why = decodeErr(t, h, "homie", "homie/th/$state", "asleep")
	require.Equal(t, devices.ReasonInvalidPayload, why)
}

func TestHomieDuration(t *testing.T) {
	h := devices.NewHomie()
	learn(t, h, "homie", "homie/d/n/up/$datatype", "duration")
	for in, want := range map[string]float64{"PT12H5M46S": 43546, "P1DT1S": 86401, "PT1.5S": 1.5} {
		r := decodeOne(t, h, "homie", "homie/d/n/up", in)
		require.Equal(t, want, r.Metrics["n.up"], in)
	}
	for _, in := range []string{"P", "PT", "12H", "PT5X", "P1H", "PT1H2"} {
		_, why := decodeErr(t, h, "homie", "homie/d/n/up", in)
		require.Equal(t, devices.ReasonInvalidPayload, why, in)
	}
}

func TestHomieCommand(t *testing.T) {
	h := devices.NewHomie()
	_, err := h.Command("homie", "kitchen-light", "on", nil)
	require.ErrorIs(t, err, devices.ErrInvalidCommand, "nothing learnt: refused")
	learn(t, h, "homie",
		"homie/kitchen-light/$nodes", "light",
		"homie/kitchen-light/light/$properties", "power,brightness,label",
		"homie/kitchen-light/light/power/$datatype", "boolean",
		"homie/kitchen-light/light/power/$settable", "true",
		"homie/kitchen-light/light/brightness/$datatype", "integer",
		"homie/kitchen-light/light/brightness/$settable", "true",
		"homie/kitchen-light/light/label/$datatype", "string",
	)
	m, err := h.Command("homie", "kitchen-light", "on", nil)
	require.NoError(t, err)
	require.Equal(t, "homie/kitchen-light/light/power/set", m.Topic)
	require.Equal(t, "true", string(m.Payload))
	require.False(t, m.Retained)
	m, err = h.Command("homie", "kitchen-light", "set", []byte(`{"node":"light","property":"brightness","value":80}`))
	require.NoError(t, err)
	require.Equal(t, "homie/kitchen-light/light/brightness/set", m.Topic)
	require.Equal(t, "80", string(m.Payload))
	for _, args := range []string{
		`{"node":"light","property":"brightness","value":8.5}`,  // not an integer
		`{"node":"light","property":"brightness","value":true}`, // wrong type
		`{"node":"light","property":"label","value":"x"}`,       // not settable
		`{"node":"light","property":"nope","value":"x"}`,        // not announced
		`{"node":"light/x","property":"power","value":true}`,    // not an id
		`{"node":"light","property":"power"}`,                   // no value
		`[1]`,
	} {
		_, err = h.Command("homie", "kitchen-light", "set", []byte(args))
		require.ErrorIs(t, err, devices.ErrInvalidCommand, args)
	}
	_, err = h.Command("homie", "kitchen-light", "toggle", nil)
	require.ErrorIs(t, err, devices.ErrInvalidCommand)

	// v5: the set topic keeps the version level.
	learn(t, h, "homie", "homie/5/lamp/$description",
		`{"homie":"5.0","version":1,"nodes":{"dimmer":{"properties":{"on":{"datatype":"boolean","settable":true}}}}}`)
	m, err = h.Command("homie", "lamp", "off", nil)
	require.NoError(t, err)
	require.Equal(t, "homie/5/lamp/dimmer/on/set", m.Topic)
	require.Equal(t, "false", string(m.Payload))
}

// TestHomieBounded fills the table past MaxLearnt: new entries stop being
// learnt, nothing panics, and known entries still update.
func TestHomieBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100k entries")
	}
	h := devices.NewHomie()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < devices.MaxLearnt+1000; i += 4 {
				_, _ = h.Decode("homie", devices.Message{Topic: fmt.Sprintf("homie/d%d/n/p/$datatype", i), Payload: []byte("float"), ReceivedAt: received})
			}
		}()
	}
	wg.Wait()
	require.Equal(t, devices.MaxLearnt, h.Learnt())
	learn(t, h, "homie", "homie/d0/n/p/$unit", "°F")
	r := decodeOne(t, h, "homie", "homie/d0/n/p", "212")
	require.Equal(t, 212.0, r.Metrics["n.p"]) // "p" is not canonical: no conversion
}

func FuzzHomie(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("homie/5/d/$description", p.Data)
		}
	}
	f.Add("homie/d/$state", []byte(`ready`))
	f.Add("homie/d/$nodes", []byte(`a,b[]`))
	f.Add("homie/d/n/p/$datatype", []byte(`duration`))
	f.Add("homie/d/n/p", []byte(`PT1H`))
	f.Add("homie/d/$stats/uptime", []byte(`12`))
	f.Add("homie/5/d/$description", []byte(`{"nodes":{"n":{"properties":{"p":{"datatype":"float","unit":"°F"}}}}}`))
	// Values of undeclared properties, read by form.
	f.Add("homie/u/n/p", []byte(`true`))
	f.Add("homie/u/n/p", []byte(`-1.5e3`))
	f.Add("homie/u/n/p", []byte(`{"a":1}`))
	f.Add("homie/5/u/n/p", []byte("\x00"))
	f.Add("homie/u/n/p", []byte("a\tb"))
	h := devices.NewHomie()
	// Seed metadata so fuzzed values reach every datatype branch.
	for _, dt := range []string{"integer", "float", "boolean", "string", "enum", "color", "datetime", "duration"} {
		_, _ = h.Decode("homie", devices.Message{Topic: "homie/d/n/" + dt + "/$datatype", Payload: []byte(dt)})
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, h, "homie", topic, payload)
	})
}
