package sparkplug

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
)

// jsonPayload describes a Sparkplug B payload in the JSON form the
// Sparkplug 3.0 specification prints its examples in (§6.4.18–6.4.21:
// timestamp, metrics with name, alias, timestamp, dataType, value; seq).
// Tests encode it with the generated types, so fixtures stay readable.
type jsonPayload struct {
	Timestamp *uint64      `json:"timestamp,omitempty"`
	Seq       *uint64      `json:"seq,omitempty"`
	Metrics   []jsonMetric `json:"metrics,omitempty"`
}

type jsonMetric struct {
	Name         *string           `json:"name,omitempty"`
	Alias        *uint64           `json:"alias,omitempty"`
	Timestamp    *uint64           `json:"timestamp,omitempty"`
	DataType     string            `json:"dataType,omitempty"`
	Value        json.RawMessage   `json:"value,omitempty"`
	IsNull       bool              `json:"is_null,omitempty"`
	IsHistorical bool              `json:"is_historical,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
	// Field forces the value field ("int", "long", "float", "double",
	// "boolean", "string", "bytes") for malformed-payload cases.
	Field string `json:"field,omitempty"`
}

// encode builds the protobuf bytes of p.
func (p jsonPayload) encode() ([]byte, error) {
	out := &Payload{Timestamp: p.Timestamp, Seq: p.Seq}
	for i, jm := range p.Metrics {
		m := &Payload_Metric{Name: jm.Name, Alias: jm.Alias, Timestamp: jm.Timestamp}
		if jm.IsNull {
			m.IsNull = proto.Bool(true)
		}
		if jm.IsHistorical {
			m.IsHistorical = proto.Bool(true)
		}
		dt := DataType_Unknown
		if jm.DataType != "" {
			v, ok := DataType_value[jm.DataType]
			if !ok {
				return nil, fmt.Errorf("metric %d: unknown dataType %q", i, jm.DataType)
			}
			dt = DataType(v)
			m.Datatype = proto.Uint32(uint32(v))
		}
		for k, v := range jm.Properties {
			if m.Properties == nil {
				m.Properties = &Payload_PropertySet{}
			}
			m.Properties.Keys = append(m.Properties.Keys, k)
			m.Properties.Values = append(m.Properties.Values, &Payload_PropertyValue{
				Type: proto.Uint32(uint32(DataType_String)), Value: &Payload_PropertyValue_StringValue{StringValue: v}})
		}
		if len(jm.Value) > 0 {
			if err := setJSONValue(m, dt, jm.Field, jm.Value); err != nil {
				return nil, fmt.Errorf("metric %d: %w", i, err)
			}
		}
		out.Metrics = append(out.Metrics, m)
	}
	return proto.Marshal(out)
}

func setJSONValue(m *Payload_Metric, dt DataType, field string, raw json.RawMessage) error {
	if field == "" {
		switch dt {
		case DataType_Int8, DataType_Int16, DataType_Int32, DataType_UInt8, DataType_UInt16, DataType_UInt32:
			field = "int"
		case DataType_Int64, DataType_UInt64, DataType_DateTime:
			field = "long"
		case DataType_Float:
			field = "float"
		case DataType_Double:
			field = "double"
		case DataType_Boolean:
			field = "boolean"
		case DataType_String, DataType_Text, DataType_UUID:
			field = "string"
		case DataType_Bytes, DataType_File:
			field = "bytes"
		case DataType_DataSet:
			m.Value = &Payload_Metric_DatasetValue{DatasetValue: &Payload_DataSet{NumOfColumns: proto.Uint64(0)}}
			return nil
		case DataType_Template:
			m.Value = &Payload_Metric_TemplateValue{TemplateValue: &Payload_Template{Version: proto.String("1")}}
			return nil
		default:
			return fmt.Errorf("no default value field for %v", dt)
		}
	}
	var n json.Number
	switch field {
	case "int", "long":
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		var bits uint64
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			bits = uint64(i) // two's complement (Sparkplug 3.0 §6.4.16)
		} else if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
			bits = u
		} else {
			return fmt.Errorf("value %s is not an integer", n)
		}
		if field == "int" {
			m.Value = &Payload_Metric_IntValue{IntValue: uint32(bits)}
		} else {
			m.Value = &Payload_Metric_LongValue{LongValue: bits}
		}
	case "float", "double":
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return err
		}
		if field == "float" {
			m.Value = &Payload_Metric_FloatValue{FloatValue: float32(f)}
		} else {
			m.Value = &Payload_Metric_DoubleValue{DoubleValue: f}
		}
	case "boolean":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return err
		}
		m.Value = &Payload_Metric_BooleanValue{BooleanValue: b}
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		m.Value = &Payload_Metric_StringValue{StringValue: s}
	case "bytes":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return err
		}
		m.Value = &Payload_Metric_BytesValue{BytesValue: b}
	default:
		return fmt.Errorf("unknown value field %q", field)
	}
	return nil
}
