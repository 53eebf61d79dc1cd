package sparkplug

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

// sampleMetric is one metric of the simulated edge node or device: a
// thermostat-like controller with a power meter.
type sampleMetric struct {
	name  string
	alias uint64
	dt    DataType
	unit  string
}

// sampleMetrics are declared with aliases in the birth; DATA then carries
// the aliases only (tck-id-payloads-alias-data-cmd-requirement).
var sampleMetrics = []sampleMetric{
	{"Properties/Firmware", 2, DataType_String, ""},
	{"Sensors/Temperature", 3, DataType_Float, "°C"},
	{"Sensors/Humidity", 4, DataType_Float, "%"},
	{"Power", 5, DataType_Double, "W"},
	{"Energy", 6, DataType_Double, "Wh"},
	{"Running", 7, DataType_Boolean, ""},
	{"Uptime", 8, DataType_Int64, "s"},
	{"Counters/Cycles", 9, DataType_UInt64, ""},
}

// sampleBdSeq is the simulated session number. Real edge nodes increment
// it on every connect; the Sampler is pure, so a device keeps one, which is
// still consistent: its will (NDEATH) and its NBIRTH always carry the same
// value (tck-id-payloads-ndeath-bdseq).
func sampleBdSeq(device string) uint64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	return uint64(h.Sum32() % 256)
}

// usage gives each simulated device its own consumption level in [0.3, 1.7).
func usage(device string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	return 0.3 + float64(h.Sum32()%1400)/1000
}

func ms(t time.Time) *uint64 { return proto.Uint64(uint64(t.UnixMilli())) }

func sampleTopic(base, kind, group, edge, device string) string {
	rel := group + "/" + kind + "/" + edge
	if device != "" {
		rel += "/" + device
	}
	return devices.JoinBase(base, rel)
}

func mustMarshal(p *Payload) []byte {
	b, err := proto.Marshal(p)
	if err != nil {
		// Marshal fails only for invalid UTF-8 in proto3 strings or
		// missing required fields; Payload is proto2 without either.
		panic("sparkplug: marshal: " + err.Error())
	}
	return b
}

// values fills the sample metrics' values at now from rnd.
func values(device string, now time.Time, rnd *rand.Rand) []*Payload_Metric {
	scale := usage(device)
	power := math.Round((40+rnd.Float64()*20)*scale*10) / 10
	hours := now.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Hours()
	out := make([]*Payload_Metric, 0, len(sampleMetrics))
	for _, s := range sampleMetrics {
		m := &Payload_Metric{Alias: proto.Uint64(s.alias), Timestamp: ms(now)}
		switch s.name {
		case "Properties/Firmware":
			continue // a birth-only property
		case "Sensors/Temperature":
			m.Value = &Payload_Metric_FloatValue{FloatValue: float32(math.Round((19+rnd.Float64()*5)*10) / 10)}
		case "Sensors/Humidity":
			m.Value = &Payload_Metric_FloatValue{FloatValue: float32(math.Round((35 + rnd.Float64()*25)))}
		case "Power":
			m.Value = &Payload_Metric_DoubleValue{DoubleValue: power}
		case "Energy":
			m.Value = &Payload_Metric_DoubleValue{DoubleValue: math.Round(hours * 50 * scale)}
		case "Running":
			m.Value = &Payload_Metric_BooleanValue{BooleanValue: power > 0}
		case "Uptime":
			m.Value = &Payload_Metric_LongValue{LongValue: uint64(now.Unix() % 864000)}
		case "Counters/Cycles":
			m.Value = &Payload_Metric_LongValue{LongValue: uint64(hours * 12 * scale)}
		}
		out = append(out, m)
	}
	return out
}

// Sample implements devices.Sampler: one NDATA (for an edge node id
// "group/edge") or DDATA (for "group/edge/device") whose metrics carry only
// their aliases, as an edge node does after its birth. seq follows the
// round's time in seconds, so a simulator reporting every second sends
// consecutive seq values. Ids of another shape have no Sparkplug topic:
// nothing is returned.
func (h *SparkplugB) Sample(base, device string, now time.Time, rnd *rand.Rand) []devices.Message {
	group, edge, dev, ok := splitID(device)
	if !ok {
		return nil
	}
	kind := typeNDATA
	if dev != "" {
		kind = typeDDATA
	}
	p := &Payload{
		Timestamp: ms(now),
		Seq:       proto.Uint64(uint64(now.Unix()) % 256),
		Metrics:   values(device, now, rnd),
	}
	return []devices.Message{{Topic: sampleTopic(base, kind, group, edge, dev), Payload: mustMarshal(p)}}
}

// Availability implements devices.Sampler. Online is the birth: an NBIRTH
// (seq 0, bdSeq, Node Control/Rebirth, every metric with name, alias,
// datatype and a current value) for an edge node, a DBIRTH for a device.
// Offline is the will: an NDEATH carrying only the session's bdSeq (no seq:
// tck-id-payloads-ndeath-seq), or a DDEATH for a device. The will is
// registered at connect, long before it fires, so it carries no timestamp:
// the bridge's receive time is the right one.
func (h *SparkplugB) Availability(base, device string, online bool) (devices.Message, bool) {
	group, edge, dev, ok := splitID(device)
	if !ok {
		return devices.Message{}, false
	}
	if !online {
		if dev != "" {
			p := &Payload{Seq: proto.Uint64(0)}
			return devices.Message{Topic: sampleTopic(base, typeDDEATH, group, edge, dev), Payload: mustMarshal(p)}, true
		}
		p := &Payload{Metrics: []*Payload_Metric{bdSeqMetric(sampleBdSeq(device))}}
		return devices.Message{Topic: sampleTopic(base, typeNDEATH, group, edge, ""), Payload: mustMarshal(p)}, true
	}
	now := time.Now()
	metrics := values(device, now, rand.New(rand.NewPCG(1, 1)))
	for _, m := range metrics {
		for _, s := range sampleMetrics {
			if s.alias == m.GetAlias() {
				m.Name, m.Datatype = proto.String(s.name), proto.Uint32(uint32(s.dt))
				if s.unit != "" {
					m.Properties = &Payload_PropertySet{Keys: []string{"engUnit"},
						Values: []*Payload_PropertyValue{{Type: proto.Uint32(uint32(DataType_String)),
							Value: &Payload_PropertyValue_StringValue{StringValue: s.unit}}}}
				}
			}
		}
	}
	metrics = append(metrics, &Payload_Metric{Name: proto.String("Properties/Firmware"), Alias: proto.Uint64(2),
		Timestamp: ms(now), Datatype: proto.Uint32(uint32(DataType_String)),
		Value: &Payload_Metric_StringValue{StringValue: "mqlive-sim 1.0"}})
	kind := typeDBIRTH
	if dev == "" {
		kind = typeNBIRTH
		metrics = append([]*Payload_Metric{
			bdSeqMetric(sampleBdSeq(device)),
			// Every NBIRTH declares Node Control/Rebirth = false, by name only
			// (tck-id-topics-nbirth-rebirth-metric,
			// tck-id-operational-behavior-data-commands-rebirth-name-aliases).
			{Name: proto.String("Node Control/Rebirth"), Timestamp: ms(now),
				Datatype: proto.Uint32(uint32(DataType_Boolean)), Value: &Payload_Metric_BooleanValue{BooleanValue: false}},
		}, metrics...)
	}
	p := &Payload{Timestamp: ms(now), Seq: proto.Uint64(0), Metrics: metrics}
	return devices.Message{Topic: sampleTopic(base, kind, group, edge, dev), Payload: mustMarshal(p)}, true
}

// bdSeqMetric is the birth/death sequence metric, an Int64 in NBIRTH and
// NDEATH (tck-id-payloads-nbirth-bdseq, tck-id-payloads-ndeath-bdseq).
func bdSeqMetric(bd uint64) *Payload_Metric {
	return &Payload_Metric{Name: proto.String("bdSeq"), Datatype: proto.Uint32(uint32(DataType_Int64)),
		Value: &Payload_Metric_LongValue{LongValue: bd}}
}
