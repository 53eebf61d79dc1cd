package sparkplug

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

func decodeCommand(t *testing.T, m devices.Message) *Payload {
	t.Helper()
	var p Payload
	require.NoError(t, proto.Unmarshal(m.Payload, &p))
	require.NotNil(t, p.Timestamp, "tck-id-payloads-ncmd-timestamp")
	require.Nil(t, p.Seq, "tck-id-payloads-ncmd-seq")
	require.Len(t, p.Metrics, 1)
	return &p
}

// born decodes a birth of id (group/edge: NBIRTH with bdSeq, else DBIRTH)
// declaring metrics (name → datatype) without aliases.
func born(t *testing.T, h *SparkplugB, id string, metrics map[string]DataType) {
	t.Helper()
	g, e, d, ok := splitID(id)
	require.True(t, ok)
	p := &Payload{Timestamp: ms(time.Now()), Seq: proto.Uint64(0)}
	kind := typeDBIRTH
	if d == "" {
		kind = typeNBIRTH
		p.Metrics = append(p.Metrics, bdSeqMetric(0))
	}
	for name, dt := range metrics {
		m := &Payload_Metric{Name: proto.String(name), Datatype: proto.Uint32(uint32(dt))}
		switch dt {
		case DataType_Boolean:
			m.Value = &Payload_Metric_BooleanValue{}
		case DataType_String:
			m.Value = &Payload_Metric_StringValue{}
		default:
			m.IsNull = proto.Bool(true)
		}
		p.Metrics = append(p.Metrics, m)
	}
	_, err := h.Decode("spBv1.0", devices.Message{Topic: sampleTopic("spBv1.0", kind, g, e, d), Payload: mustMarshal(p), ReceivedAt: time.Now()})
	require.NoError(t, err)
}

func TestSparkplugBCommandRebirth(t *testing.T) {
	h := New()
	// Accepted without a known birth: it is how a host asks for one.
	m, err := h.Command("spBv1.0", "Line 1/PLC-7", "rebirth", nil)
	require.NoError(t, err)
	require.Equal(t, "spBv1.0/Line 1/NCMD/PLC-7", m.Topic)
	p := decodeCommand(t, m)
	require.Equal(t, "Node Control/Rebirth", p.Metrics[0].GetName())
	require.Equal(t, uint32(DataType_Boolean), p.Metrics[0].GetDatatype())
	require.True(t, p.Metrics[0].GetBooleanValue())

	// Node Control acts on the whole edge node: never from a device id,
	// whose cmd permission says nothing about its edge node.
	born(t, h, "Line 1/PLC-7", map[string]DataType{"Node Control/Reboot": DataType_Boolean})
	born(t, h, "Line 1/PLC-7/Pump 2", map[string]DataType{"Node Control/Reboot": DataType_Boolean})
	for _, name := range []string{"rebirth", "Rebirth", "Node Control/Rebirth", "Node Control/Reboot"} {
		_, err = h.Command("spBv1.0", "Line 1/PLC-7/Pump 2", name, nil)
		require.ErrorIs(t, err, devices.ErrInvalidCommand, name)
	}

	m, err = h.Command("spBv1.0", "Line 1/PLC-7", "Node Control/Reboot", nil)
	require.NoError(t, err)
	require.Equal(t, "spBv1.0/Line 1/NCMD/PLC-7", m.Topic)
	require.True(t, decodeCommand(t, m).Metrics[0].GetBooleanValue())
}

func TestSparkplugBCommandOnlyBirthMetrics(t *testing.T) {
	h := New()
	// No birth known: nothing but rebirth.
	_, err := h.Command("spBv1.0", "G/E", "Setpoint", []byte(`1`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
	_, err = h.Command("spBv1.0", "G/E/D", "Setpoint", []byte(`1`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand)

	born(t, h, "G/E", map[string]DataType{"Setpoint": DataType_Double})
	born(t, h, "G/E/D", map[string]DataType{"Speed": DataType_Int32})
	_, err = h.Command("spBv1.0", "G/E", "Setpoint", []byte(`1`))
	require.NoError(t, err)
	_, err = h.Command("spBv1.0", "G/E/D", "Speed", []byte(`1`))
	require.NoError(t, err)
	for _, c := range []struct{ device, name string }{
		{"G/E", "Speed"},               // the device's metric, not the node's
		{"G/E/D", "Setpoint"},          // the node's metric, not the device's
		{"G/E", "Node Control/Reboot"}, // not declared by this NBIRTH
		{"G/E", "bdSeq"},               // the session number
		{"G/E/D2", "Speed"},            // a device never born
		{"G/E2", "Setpoint"},           // a node never born
	} {
		_, err = h.Command("spBv1.0", c.device, c.name, []byte(`1`))
		require.ErrorIs(t, err, devices.ErrInvalidCommand, "%+v", c)
	}
	// A new NBIRTH forgets the devices born under the old session.
	born(t, h, "G/E", map[string]DataType{"Setpoint": DataType_Double})
	_, err = h.Command("spBv1.0", "G/E/D", "Speed", []byte(`1`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
}

func TestSparkplugBCommandUsesBirthDatatypeAndAlias(t *testing.T) {
	h := New()
	birth, ok := h.Availability("spBv1.0", "Plant/Edge/Pump", true)
	require.True(t, ok)
	_, err := h.Decode("spBv1.0", birth)
	require.NoError(t, err)

	m, err := h.Command("spBv1.0", "Plant/Edge/Pump", "Running", []byte(`true`))
	require.NoError(t, err)
	require.Equal(t, "spBv1.0/Plant/DCMD/Edge/Pump", m.Topic)
	got := decodeCommand(t, m).Metrics[0]
	require.Nil(t, got.Name, "a metric with an alias is commanded by alias only (tck-id-payloads-alias-data-cmd-requirement)")
	require.Equal(t, uint64(7), got.GetAlias())
	require.True(t, got.GetBooleanValue())

	// Sensors/Temperature is a Float in the birth: 21 is sent as a Float.
	m, err = h.Command("spBv1.0", "Plant/Edge/Pump", "Sensors/Temperature", []byte(`21`))
	require.NoError(t, err)
	got = decodeCommand(t, m).Metrics[0]
	require.Equal(t, uint32(DataType_Float), got.GetDatatype())
	require.Equal(t, float32(21), got.GetFloatValue())

	_, err = h.Command("spBv1.0", "Plant/Edge/Pump", "Running", []byte(`"yes"`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
	_, err = h.Command("spBv1.0", "Plant/Edge/Pump", "Uptime", []byte(`1.5`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
}

func TestSparkplugBCommandInfersDatatype(t *testing.T) {
	h := New()
	// A birth may declare a metric's datatype Unknown: the value decides.
	born(t, h, "G/E", map[string]DataType{"Setpoint": DataType_Unknown})
	for _, c := range []struct {
		args string
		dt   DataType
	}{{`true`, DataType_Boolean}, {`-42`, DataType_Int64}, {`2.5`, DataType_Double}, {`"auto"`, DataType_String}} {
		m, err := h.Command("spBv1.0", "G/E", "Setpoint", []byte(c.args))
		require.NoError(t, err, c.args)
		got := decodeCommand(t, m).Metrics[0]
		require.Equal(t, "Setpoint", got.GetName())
		require.Equal(t, uint32(c.dt), got.GetDatatype(), c.args)
	}
	m, err := h.Command("spBv1.0", "G/E", "Setpoint", []byte(`-42`))
	require.NoError(t, err)
	require.Equal(t, int64(-42), int64(decodeCommand(t, m).Metrics[0].GetLongValue()), "two's complement")
}

func TestSparkplugBCommandRefusals(t *testing.T) {
	h := New()
	born(t, h, "G/E", map[string]DataType{"Setpoint": DataType_Double})
	for _, c := range []struct{ device, name, args string }{
		{"G", "Setpoint", `1`},         // not group/edge
		{"G/E/D/X", "Setpoint", `1`},   // too many levels
		{"G/+/D", "Setpoint", `1`},     // wildcard
		{"G/E", "on", ``},              // no standard switch metric
		{"G/E", "Setpoint", ``},        // no value
		{"G/E", "Setpoint", `{"v":1}`}, // not a scalar
		{"G/E", "Setpoint", `[1]`},     // not a scalar
		{"G/E", "Setpoint", `1 2`},     // two values
		{"G/E", "", `1`},               // no name
		{"G/E", "Setpoint", `null`},    // null
		{"G/E", "Setpoint", `1e999`},   // not finite
	} {
		_, err := h.Command("spBv1.0", c.device, c.name, []byte(c.args))
		require.ErrorIs(t, err, devices.ErrInvalidCommand, "%+v", c)
	}
}
