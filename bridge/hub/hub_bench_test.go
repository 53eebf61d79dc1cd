package hub

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// drainEvery is how many publications the benchmarks deliver between two
// (untimed) writer drains: half the default queue, so stream queues never
// overflow and the measured path is the ordinary one.
const drainEvery = 128

func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{1, 100, 5000} {
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			benchDeliver(b, n, wire.ModeStream, func(i int) *state.Publication {
				return benchPub(b, uint64(i+1), "dev-"+strconv.Itoa(i%10))
			})
		})
	}
}

// BenchmarkDeliverConflated measures the latest-mode path: every
// subscriber has a pending slot per device and merges into it.
func BenchmarkDeliverConflated(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			benchDeliver(b, n, wire.ModeLatest, func(i int) *state.Publication {
				return benchPub(b, uint64(i+1), "dev-"+strconv.Itoa(i%10))
			})
		})
	}
}

func benchPub(b *testing.B, offset uint64, device string) *state.Publication {
	r := devices.Reading{Device: device, Family: "zigbee2mqtt", TS: t0.Add(time.Duration(offset) * time.Millisecond),
		Metrics: map[string]any{"temperature": 21.5, "humidity": 48.2, "battery": 97.0, "linkquality": 120.0}}
	p := pub("devices", offset, `{"device":"`+device+`","family":"zigbee2mqtt","metrics":{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120}}`)
	p.Reading = &r
	return p
}

func benchDeliver(b *testing.B, n int, mode string, mk func(i int) *state.Publication) {
	h := New(Config{Metrics: metrics.New(prometheus.NewRegistry())})
	sessions := make([]*Session, n)
	for i := range sessions {
		s := h.NewSession("s"+strconv.Itoa(i), "u", "acme", "node")
		if err := h.Add(s); err != nil {
			b.Fatal(err)
		}
		subscribe(b, h, s, "devices", SubOptions{Mode: mode})
		sessions[i] = s
	}
	pubs := make([]*state.Publication, drainEvery*4)
	for i := range pubs {
		pubs[i] = mk(i)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var buf []Frame
	drain := func() {
		for _, s := range sessions {
			buf, _ = s.Next(done, buf[:0])
			clear(buf)
		}
	}
	b.ReportAllocs()
	count := 0
	for b.Loop() {
		h.Deliver("acme", pubs[count%len(pubs)])
		count++
		if count%drainEvery == 0 {
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
	elapsed := b.Elapsed()
	deliveries := float64(count) * float64(n)
	b.ReportMetric(float64(elapsed.Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	for _, s := range sessions {
		if s.Closing() {
			b.Fatal("a session was closed: the benchmark overflowed its queue")
		}
	}
}

// BenchmarkNext measures the writer side only: taking a batch of 16 queued
// frames. Queueing them (the deliver side, BenchmarkDeliver) is untimed.
func BenchmarkNext(b *testing.B) {
	const batch = 16
	h := New(Config{})
	s := h.NewSession("s", "u", "acme", "node")
	if err := h.Add(s); err != nil {
		b.Fatal(err)
	}
	subscribe(b, h, s, "devices", SubOptions{})
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var buf []Frame
	var offset uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := 0; i < batch; i++ {
			offset++
			s.deliver(s.subs["devices"], benchPub(b, offset, "dev"))
		}
		clear(buf)
		b.StartTimer()
		buf, _ = s.Next(done, buf[:0])
		if len(buf) != batch {
			b.Fatalf("got %d frames", len(buf))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/frame")
}
