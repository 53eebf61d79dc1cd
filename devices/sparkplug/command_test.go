package sparkplug

import (
	"testing"

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

func TestSparkplugBCommandRebirth(t *testing.T) {
	h := New()
	m, err := h.Command("spBv1.0", "Line 1/PLC-7", "rebirth", nil)
	require.NoError(t, err)
	require.Equal(t, "spBv1.0/Line 1/NCMD/PLC-7", m.Topic)
	p := decodeCommand(t, m)
	require.Equal(t, "Node Control/Rebirth", p.Metrics[0].GetName())
	require.Equal(t, uint32(DataType_Boolean), p.Metrics[0].GetDatatype())
	require.True(t, p.Metrics[0].GetBooleanValue())

	// From a device id, a rebirth goes to its edge node.
	m, err = h.Command("spBv1.0", "Line 1/PLC-7/Pump 2", "rebirth", nil)
	require.NoError(t, err)
	require.Equal(t, "spBv1.0/Line 1/NCMD/PLC-7", m.Topic)

	m, err = h.Command("spBv1.0", "Line 1/PLC-7", "Node Control/Reboot", nil)
	require.NoError(t, err)
	require.True(t, decodeCommand(t, m).Metrics[0].GetBooleanValue())
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
