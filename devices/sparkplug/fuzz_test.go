package sparkplug

import (
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// FuzzSparkplugB decodes raw bytes on every message type: no panic, and
// every result is Readings or a *DecodeError or ErrIgnored.
func FuzzSparkplugB(f *testing.F) {
	h := New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	birth, _ := h.Availability("spBv1.0", "G/E", true)
	f.Add(uint8(0), birth.Payload)
	for _, m := range h.Sample("spBv1.0", "G/E", now, rand.New(rand.NewPCG(1, 2))) {
		f.Add(uint8(2), m.Payload)
	}
	death, _ := h.Availability("spBv1.0", "G/E", false)
	f.Add(uint8(1), death.Payload)
	// A death of another session (bdSeq 7, not the sampler's) and a
	// metric named by the vendor alias table.
	stale, _ := proto.Marshal(&Payload{Metrics: []*Payload_Metric{bdSeqMetric(7)}})
	f.Add(uint8(1), stale)
	supply, _ := proto.Marshal(&Payload{Timestamp: proto.Uint64(1), Seq: proto.Uint64(1), Metrics: []*Payload_Metric{
		{Name: proto.String("Power/Supply Voltage"), Datatype: proto.Uint32(uint32(DataType_Float)), Value: &Payload_Metric_FloatValue{FloatValue: 3.3}}}})
	f.Add(uint8(2), supply)
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add(uint8(3), p.Data)
		}
	}
	topics := []string{"spBv1.0/G/NBIRTH/E", "spBv1.0/G/NDEATH/E", "spBv1.0/G/NDATA/E",
		"spBv1.0/G/DBIRTH/E/D", "spBv1.0/G/DDATA/E/D", "spBv1.0/G/DDEATH/E/D", "spBv1.0/STATE/host"}
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		topic := topics[int(kind)%len(topics)]
		devicestest.CheckDecode(t, h, "spBv1.0", devices.Message{Topic: topic, Payload: payload, ReceivedAt: now})
	})
}
