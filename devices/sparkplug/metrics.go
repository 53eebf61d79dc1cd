package sparkplug

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// kind says where a decoded metric value goes.
type kind int

const (
	kindSkip   kind = iota // not mapped (DataSet, Template, Bytes, File, arrays, null)
	kindMetric             // float64 or bool → Reading.Metrics
	kindAttr               // string → Reading.Attrs
)

// protocolMetric reports whether a metric is Sparkplug's own bookkeeping
// rather than device status: the bdSeq birth/death counter
// (tck-id-payloads-nbirth-bdseq) and the Node Control / Device Control
// command metrics an NBIRTH must declare
// (tck-id-payloads-nbirth-rebirth-req).
func protocolMetric(name string) bool {
	return name == "bdSeq" || strings.HasPrefix(name, "Node Control/") || strings.HasPrefix(name, "Device Control/")
}

// metricKey maps a Sparkplug metric name to a Reading field name. Sparkplug
// names are folder paths ("Sensors/Temperature", "Properties/Hardware
// Make"); each folder level is put in lower snake_case and the levels are
// joined with '.', the separator READINGS.md uses for a quantity that
// belongs to an instance: "Temperature" → "temperature",
// "Sensors/Temperature" → "sensors.temperature", "Inputs/Active Power" →
// "inputs.active_power". Empty levels are dropped. A last level that is a
// vendor alias (devices.Alias: "Supply Voltage" → "voltage") takes the
// canonical name, its folders kept as the instance.
func metricKey(name string) string {
	return devices.Alias("sparkplug_b", folderKey(name))
}

func folderKey(name string) string {
	if !strings.Contains(name, "/") {
		return devices.SnakeCase(name)
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, seg := range strings.Split(name, "/") {
		if seg == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(devices.SnakeCase(seg))
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// rawInt returns the integer bits of a metric value. Sparkplug 3.0 §6.4.16
// encodes Int8..Int32 and UInt8..UInt32 in int_value and the 64-bit types
// in long_value, signed ones as two's complement; some encoders use
// long_value for every integer type, so both are read.
func rawInt(m *Payload_Metric) (uint64, bool) {
	switch v := m.GetValue().(type) {
	case *Payload_Metric_IntValue:
		return uint64(v.IntValue), true
	case *Payload_Metric_LongValue:
		return v.LongValue, true
	}
	return 0, false
}

// inferType guesses the datatype of a metric that has none and no birth
// that defines it, from the value field it uses.
func inferType(m *Payload_Metric) DataType {
	switch m.GetValue().(type) {
	case *Payload_Metric_IntValue:
		return DataType_UInt32
	case *Payload_Metric_LongValue:
		return DataType_UInt64
	case *Payload_Metric_FloatValue:
		return DataType_Float
	case *Payload_Metric_DoubleValue:
		return DataType_Double
	case *Payload_Metric_BooleanValue:
		return DataType_Boolean
	case *Payload_Metric_StringValue:
		return DataType_String
	}
	return DataType_Unknown
}

// float32Value widens a Float to the float64 with the shortest decimal form
// that round-trips the float32, so that 21.7 reads 21.7, not
// 21.700000762939453.
func float32Value(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// convert maps one metric value by datatype (Sparkplug 3.0 §6.4.16):
// integer and floating types and Boolean become metrics; String, Text,
// UUID and DateTime (ms since the epoch, as RFC 3339 UTC) become attrs;
// DataSet, Bytes, File, Template, PropertySet and the array types are
// skipped. A value field that does not fit the datatype is an error
// (tck-id-payloads-metric-datatype-value-type). UInt64 and Int64 values
// beyond ±2^53 lose precision in float64, as every JSON consumer would.
func convert(m *Payload_Metric, dt DataType) (num any, str string, k kind, ok bool) {
	if m.GetIsNull() || m.GetValue() == nil {
		return nil, "", kindSkip, true // null: the metric is absent
	}
	switch dt {
	case DataType_Int8, DataType_Int16, DataType_Int32, DataType_Int64,
		DataType_UInt8, DataType_UInt16, DataType_UInt32, DataType_UInt64:
		raw, isInt := rawInt(m)
		if !isInt {
			return nil, "", kindSkip, false
		}
		var f float64
		switch dt {
		case DataType_Int8:
			f = float64(int8(raw))
		case DataType_Int16:
			f = float64(int16(raw))
		case DataType_Int32:
			f = float64(int32(raw))
		case DataType_Int64:
			f = float64(int64(raw))
		case DataType_UInt8:
			f = float64(uint8(raw))
		case DataType_UInt16:
			f = float64(uint16(raw))
		case DataType_UInt32:
			f = float64(uint32(raw))
		default:
			f = float64(raw)
		}
		return f, "", kindMetric, true
	case DataType_Float, DataType_Double:
		var f float64
		switch v := m.GetValue().(type) {
		case *Payload_Metric_FloatValue:
			f = float32Value(v.FloatValue)
		case *Payload_Metric_DoubleValue:
			f = v.DoubleValue
		default:
			return nil, "", kindSkip, false
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// A well-formed IEEE value that READINGS.md cannot carry (a
			// PLC's "bad sensor"): the metric is absent, the rest stays.
			return nil, "", kindSkip, true
		}
		return f, "", kindMetric, true
	case DataType_Boolean:
		v, isBool := m.GetValue().(*Payload_Metric_BooleanValue)
		if !isBool {
			return nil, "", kindSkip, false
		}
		return v.BooleanValue, "", kindMetric, true
	case DataType_String, DataType_Text, DataType_UUID:
		v, isStr := m.GetValue().(*Payload_Metric_StringValue)
		if !isStr {
			return nil, "", kindSkip, false
		}
		return nil, v.StringValue, kindAttr, true
	case DataType_DateTime:
		raw, isInt := rawInt(m)
		if !isInt {
			return nil, "", kindSkip, false
		}
		if raw > 1<<53 { // beyond year 285,000: not a time
			return nil, "", kindSkip, true
		}
		return nil, time.UnixMilli(int64(raw)).UTC().Format(time.RFC3339Nano), kindAttr, true
	}
	return nil, "", kindSkip, true
}

// unitProperty returns the engineering unit a metric declares in its
// PropertySet ("engUnit" in Ignition, "unit" elsewhere), if any.
func unitProperty(m *Payload_Metric) string {
	ps := m.GetProperties()
	if ps == nil {
		return ""
	}
	for i, k := range ps.GetKeys() {
		if i >= len(ps.GetValues()) {
			break
		}
		if strings.EqualFold(k, "engUnit") || strings.EqualFold(k, "unit") || strings.EqualFold(k, "engineering units") {
			return ps.GetValues()[i].GetStringValue()
		}
	}
	return ""
}

// canonicalUnit converts v, the value of the field key in unit, to the
// canonical unit of READINGS.md when key's last level names a canonical
// quantity. Other fields keep the device's value and unit: converting a
// pass-through field would change what the user configured.
func canonicalUnit(key string, v float64, unit string) float64 {
	if unit == "" {
		return v
	}
	last := key[strings.LastIndexByte(key, '.')+1:]
	u := strings.ToLower(strings.TrimSpace(unit))
	round := func(x float64) float64 {
		if math.Abs(x) > 1e9 {
			return x
		}
		return math.Round(x*1e6) / 1e6
	}
	switch last {
	case "temperature":
		switch u {
		case "°f", "degf", "f", "fahrenheit":
			return round((v - 32) * 5 / 9)
		case "k", "kelvin":
			return round(v - 273.15)
		}
	case "pressure":
		switch u {
		case "pa":
			return round(v / 100)
		case "kpa":
			return round(v * 10)
		case "bar":
			return round(v * 1000)
		case "psi":
			return round(v * 68.9475729)
		}
	case "voltage", "current":
		if u == "mv" || u == "ma" {
			return round(v / 1000)
		}
	case "power":
		if u == "kw" {
			return round(v * 1000)
		}
	case "energy":
		if u == "wh" {
			return round(v / 1000)
		}
	}
	return v
}
