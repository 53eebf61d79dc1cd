package sparkplug

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

// maxCommandArgs bounds a command's JSON arguments: a single value.
const maxCommandArgs = 4096

func invalidCommand(format string, args ...any) error {
	return fmt.Errorf("%w: sparkplug_b: %s", devices.ErrInvalidCommand, fmt.Sprintf(format, args...))
}

// Command implements devices.Commander. name is the Sparkplug metric to
// write and args its new value as one JSON scalar: an edge node id
// ("group/edge") gets an NCMD, a device id ("group/edge/device") a DCMD,
// both with one metric and a payload timestamp and no seq
// (tck-id-payloads-ncmd-timestamp, tck-id-payloads-ncmd-seq, and the same
// for DCMD). A command goes to exactly the id it names, so the bridge's
// check of the token's cmd claim against that id is the check of the
// message's real target.
//
// Only a metric the current birth of that node (NBIRTH) or device (DBIRTH)
// declared may be written, as this SparkplugB decoded it: a birth declares
// every metric the node or device has (tck-id-topics-nbirth-metric-reqs,
// tck-id-topics-dbirth-metric-reqs), so a command naming anything else
// is refused rather than guessed into a new metric. Without a
// known birth (this bridge never saw it, or forgot the node) only
// rebirth is accepted, which makes the node publish its births again.
// bdSeq is the session number, never written.
//
// The metric's datatype is the one its birth declared; a birth that
// declared Unknown (0) gets one inferred from the value (true/false →
// Boolean, an integer → Int64, another number → Double, a string →
// String). When the birth gave the metric an alias the command carries
// the alias only (tck-id-payloads-alias-data-cmd-requirement), else the
// name.
//
// "Node Control/…" and "Device Control/…" metrics without args write true.
// "rebirth" is short for "Node Control/Rebirth" = true, the request that
// makes an edge node publish its births again
// (tck-id-operational-behavior-data-commands-rebirth-name; always by name,
// never by alias: -rebirth-name-aliases). Node Control metrics, rebirth
// included, act on the whole edge node and its devices: they are accepted
// on the edge node id only, never on a device id, so a token whose cmd
// claim allows one device cannot make its edge node rebirth or reboot.
// The family-neutral "on", "off" and "toggle" are refused: Sparkplug has no
// standard switch metric, so the dashboard must name the metric.
func (h *SparkplugB) Command(base, device, name string, args []byte) (devices.Message, error) {
	if err := devices.ValidTopic(device); err != nil {
		return devices.Message{}, invalidCommand("device: %v", err)
	}
	group, edge, dev, ok := splitID(device)
	if !ok {
		return devices.Message{}, invalidCommand("device %q is not group/edge or group/edge/device", device)
	}
	switch strings.ToLower(name) {
	case "on", "off", "toggle":
		return devices.Message{}, invalidCommand("%q: Sparkplug has no standard switch metric; name the metric to write", name)
	case "rebirth":
		name = rebirthMetric
	}
	if dev != "" && strings.HasPrefix(name, "Node Control/") {
		return devices.Message{}, invalidCommand("%.60q acts on the whole edge node: send it to the edge node id %q, not to a device", name, group+"/"+edge)
	}
	if name == "bdSeq" {
		return devices.Message{}, invalidCommand("bdSeq is the session number; it is never written")
	}
	if name == "" || len(name) > devices.MaxNameLen || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return devices.Message{}, invalidCommand("metric name %.40q is empty, too long or not UTF-8 text", name)
	}
	v, err := commandArg(args)
	if err != nil {
		return devices.Message{}, err
	}
	control := strings.HasPrefix(name, "Node Control/") || strings.HasPrefix(name, "Device Control/")
	if v == nil {
		if !control {
			return devices.Message{}, invalidCommand("%q needs a value", name)
		}
		v = true
	}
	def, alias, hasAlias, declared := h.definition(nodeKey{base: base, group: group, edge: edge}, dev, name)
	rebirth := name == rebirthMetric
	switch {
	case rebirth:
		// By name, as a Boolean, whatever the birth said
		// (tck-id-operational-behavior-data-commands-rebirth-name-aliases).
		def, hasAlias = metricDef{datatype: uint32(DataType_Boolean)}, false
	case !declared:
		return devices.Message{}, invalidCommand("%.60q is not a metric the current birth of %q declared (send rebirth to its edge node if the birth is missing)", name, device)
	}
	dt := DataType(def.datatype)
	if dt == DataType_Unknown {
		dt = inferCommandType(v)
	}
	now := time.Now()
	m := &Payload_Metric{Timestamp: ms(now), Datatype: proto.Uint32(uint32(dt))}
	if hasAlias {
		m.Alias = proto.Uint64(alias)
	} else {
		m.Name = proto.String(name)
	}
	if err := setCommandValue(m, dt, v); err != nil {
		return devices.Message{}, invalidCommand("%q: %v", name, err)
	}
	kind := typeNCMD
	if dev != "" {
		kind = typeDCMD
	}
	p := &Payload{Timestamp: ms(now), Metrics: []*Payload_Metric{m}}
	return devices.Message{Topic: sampleTopic(base, kind, group, edge, dev), Payload: mustMarshal(p)}, nil
}

// rebirthMetric is the NCMD metric that asks an edge node for its births
// (tck-id-operational-behavior-data-commands-rebirth-name).
const rebirthMetric = "Node Control/Rebirth"

// definition looks name up in the current birth of the node or device;
// declared is false when there is no such birth or it has no such metric.
func (h *SparkplugB) definition(k nodeKey, dev, name string) (def metricDef, alias uint64, hasAlias, declared bool) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	n := h.s.nodes[k]
	if n == nil {
		return def, 0, false, false
	}
	set := n.metrics
	if dev != "" {
		set = n.devices[dev]
	}
	if set == nil {
		return def, 0, false, false
	}
	def, declared = set.byName[name]
	alias, hasAlias = set.alias[name]
	return def, alias, hasAlias, declared
}

// commandArg parses args as one JSON scalar: nil for none.
func commandArg(args []byte) (any, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return nil, nil
	}
	if len(args) > maxCommandArgs || !utf8.Valid(args) {
		return nil, invalidCommand("args: not a short UTF-8 JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidCommand("args: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidCommand("args: data after the JSON value")
	}
	switch v.(type) {
	case bool, string, json.Number:
		return v, nil
	}
	return nil, invalidCommand("args: want one boolean, number or string, not %s", bytes.TrimSpace(args)[:1])
}

func inferCommandType(v any) DataType {
	switch v := v.(type) {
	case bool:
		return DataType_Boolean
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return DataType_Int64
		}
		return DataType_Double
	}
	return DataType_String
}

// setCommandValue encodes v as datatype dt (Sparkplug 3.0 §6.4.16: signed
// integers as two's complement in int_value or long_value).
func setCommandValue(m *Payload_Metric, dt DataType, v any) error {
	num, isNum := v.(json.Number)
	switch dt {
	case DataType_Boolean:
		b, ok := v.(bool)
		if !ok {
			return errors.New("want true or false")
		}
		m.Value = &Payload_Metric_BooleanValue{BooleanValue: b}
	case DataType_Int8, DataType_Int16, DataType_Int32, DataType_Int64:
		bits := map[DataType]int{DataType_Int8: 8, DataType_Int16: 16, DataType_Int32: 32, DataType_Int64: 64}[dt]
		if !isNum {
			return errors.New("want an integer")
		}
		i, err := strconv.ParseInt(string(num), 10, bits)
		if err != nil {
			return fmt.Errorf("want an integer that fits %v", dt)
		}
		if dt == DataType_Int64 {
			m.Value = &Payload_Metric_LongValue{LongValue: uint64(i)}
		} else {
			m.Value = &Payload_Metric_IntValue{IntValue: uint32(int32(i))}
		}
	case DataType_UInt8, DataType_UInt16, DataType_UInt32, DataType_UInt64:
		bits := map[DataType]int{DataType_UInt8: 8, DataType_UInt16: 16, DataType_UInt32: 32, DataType_UInt64: 64}[dt]
		if !isNum {
			return errors.New("want an unsigned integer")
		}
		u, err := strconv.ParseUint(string(num), 10, bits)
		if err != nil {
			return fmt.Errorf("want an unsigned integer that fits %v", dt)
		}
		if dt == DataType_UInt64 {
			m.Value = &Payload_Metric_LongValue{LongValue: u}
		} else {
			m.Value = &Payload_Metric_IntValue{IntValue: uint32(u)}
		}
	case DataType_Float, DataType_Double:
		if !isNum {
			return errors.New("want a number")
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(f, 0) || (dt == DataType_Float && math.Abs(f) > math.MaxFloat32) {
			return fmt.Errorf("want a finite %v", dt)
		}
		if dt == DataType_Float {
			m.Value = &Payload_Metric_FloatValue{FloatValue: float32(f)}
		} else {
			m.Value = &Payload_Metric_DoubleValue{DoubleValue: f}
		}
	case DataType_String, DataType_Text, DataType_UUID:
		s, ok := v.(string)
		if !ok {
			return errors.New("want a string")
		}
		m.Value = &Payload_Metric_StringValue{StringValue: s}
	case DataType_DateTime:
		var t time.Time
		switch v := v.(type) {
		case json.Number:
			i, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || i < 0 {
				return errors.New("want milliseconds since the epoch")
			}
			t = time.UnixMilli(i)
		case string:
			var err error
			if t, err = time.Parse(time.RFC3339Nano, v); err != nil || t.Before(time.Unix(0, 0)) {
				return errors.New("want an RFC 3339 time after 1970")
			}
		default:
			return errors.New("want a time")
		}
		m.Value = &Payload_Metric_LongValue{LongValue: uint64(t.UnixMilli())}
	default:
		return fmt.Errorf("datatype %v cannot be written by a command", dt)
	}
	return nil
}
