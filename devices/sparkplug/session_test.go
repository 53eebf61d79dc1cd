package sparkplug

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func nbirthMsg(t testing.TB, group, edge string, bd uint64) devices.Message {
	p := &Payload{Timestamp: ms(t0), Seq: proto.Uint64(0), Metrics: []*Payload_Metric{bdSeqMetric(bd),
		{Name: proto.String("Level"), Alias: proto.Uint64(1), Datatype: proto.Uint32(uint32(DataType_Int32)),
			Value: &Payload_Metric_IntValue{IntValue: 1}}}}
	b, err := proto.Marshal(p)
	require.NoError(t, err)
	return devices.Message{Topic: "spBv1.0/" + group + "/NBIRTH/" + edge, Payload: b, ReceivedAt: t0}
}

func ndataMsg(t testing.TB, group, edge string, seq uint64, level uint32) devices.Message {
	p := &Payload{Timestamp: ms(t0), Seq: proto.Uint64(seq), Metrics: []*Payload_Metric{
		{Alias: proto.Uint64(1), Value: &Payload_Metric_IntValue{IntValue: level}}}}
	b, err := proto.Marshal(p)
	require.NoError(t, err)
	return devices.Message{Topic: "spBv1.0/" + group + "/NDATA/" + edge, Payload: b, ReceivedAt: t0}
}

func TestSparkplugBSeqWrap(t *testing.T) {
	h := New()
	_, err := h.Decode("spBv1.0", nbirthMsg(t, "G", "E", 0))
	require.NoError(t, err)
	// 1..255, then 0, 1: a whole wrap in order.
	for i := 1; i <= 257; i++ {
		rs, err := h.Decode("spBv1.0", ndataMsg(t, "G", "E", uint64(i%256), uint32(i)))
		require.NoError(t, err)
		require.Equal(t, float64(i), rs[0].Metrics["level"])
	}
	require.Zero(t, h.Stats().OutOfOrder)
	// A gap is accepted and counted.
	rs, err := h.Decode("spBv1.0", ndataMsg(t, "G", "E", 5, 9))
	require.NoError(t, err)
	require.Equal(t, 9.0, rs[0].Metrics["level"])
	require.Equal(t, uint64(1), h.Stats().OutOfOrder)
	// seq beyond 255 is malformed.
	_, err = h.Decode("spBv1.0", ndataMsg(t, "G", "E", 256, 9))
	require.Error(t, err)
}

func TestSparkplugBStaleNDEATHCounted(t *testing.T) {
	h := New()
	_, err := h.Decode("spBv1.0", nbirthMsg(t, "G", "E", 7))
	require.NoError(t, err)
	death, ok := h.Availability("spBv1.0", "G/E", false) // bdSeq of the sampler, not 7
	require.True(t, ok)
	if sampleBdSeq("G/E") == 7 {
		t.Skip("sampler bdSeq happens to be 7")
	}
	_, err = h.Decode("spBv1.0", death)
	require.ErrorIs(t, err, devices.ErrIgnored)
	require.Contains(t, err.Error(), "stale NDEATH")
	require.Equal(t, uint64(1), h.Stats().StaleDeaths)
	// Same edge id under another base is another node: its session is untouched.
	_, err = h.Decode("other", devices.Message{Topic: "other/G/NDEATH/E", Payload: death.Payload, ReceivedAt: t0})
	require.NoError(t, err)
}

func TestSparkplugBUnknownAliasCounted(t *testing.T) {
	h := New()
	_, err := h.Decode("spBv1.0", ndataMsg(t, "G", "E", 1, 1))
	var de *devices.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, devices.ReasonInvalidPayload, de.Reason)
	require.Equal(t, uint64(1), h.Stats().UnknownAlias)
}

func TestSparkplugBSessionMemoryBounded(t *testing.T) {
	h := New()
	for i := 0; i < MaxNodes+10; i++ {
		_, err := h.Decode("spBv1.0", nbirthMsg(t, "G", fmt.Sprint("E", i), 0))
		require.NoError(t, err)
	}
	require.Len(t, h.s.nodes, MaxNodes)
	require.Equal(t, uint64(10), h.Stats().Evicted)
	// The first nodes were the least recently used: forgotten, so their
	// aliases are unknown until they are born again.
	_, err := h.Decode("spBv1.0", ndataMsg(t, "G", "E0", 1, 1))
	require.Error(t, err)
	_, err = h.Decode("spBv1.0", ndataMsg(t, "G", fmt.Sprint("E", MaxNodes+9), 1, 1))
	require.NoError(t, err)
}

func TestSparkplugBDevicesPerNodeBounded(t *testing.T) {
	h := New()
	dbirth := func(dev string) error {
		p := &Payload{Timestamp: ms(t0), Seq: proto.Uint64(1)}
		b, err := proto.Marshal(p)
		require.NoError(t, err)
		_, err = h.Decode("spBv1.0", devices.Message{Topic: "spBv1.0/G/DBIRTH/E/" + dev, Payload: b, ReceivedAt: t0})
		return err
	}
	for i := 0; i < MaxDevicesPerNode; i++ {
		require.NoError(t, dbirth(fmt.Sprint("D", i)))
	}
	require.Error(t, dbirth("one too many"))
	require.NoError(t, dbirth("D0"), "a rebirth of a known device is fine")
}

// TestSparkplugBConcurrentSessions decodes births and data of many nodes
// from several goroutines (run with -race).
func TestSparkplugBConcurrentSessions(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			edge := fmt.Sprint("E", g)
			if _, err := h.Decode("spBv1.0", nbirthMsg(t, "G", edge, 0)); err != nil {
				t.Error(err)
				return
			}
			for i := 1; i < 300; i++ {
				if _, err := h.Decode("spBv1.0", ndataMsg(t, "G", edge, uint64(i%256), 1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, h.Stats().OutOfOrder)
}
