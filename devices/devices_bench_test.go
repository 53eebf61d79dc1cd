package devices_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// benchDecode decodes a family's sampled traffic and reports messages per
// second, the number PERFORMANCE.md budgets against.
func benchDecode(b *testing.B, h devices.Handler, base string) {
	s := h.(devices.Sampler)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var msgs []devices.Message
	for i := 0; i < 16; i++ {
		msgs = append(msgs, s.Sample(base, fmt.Sprintf("dev_%d", i), now, rand.New(rand.NewPCG(uint64(i), 1)))...)
	}
	bytes := 0
	for _, m := range msgs {
		bytes += len(m.Payload)
	}
	b.SetBytes(int64(bytes / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Decode(base, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkDecodeZigbee2MQTT(b *testing.B) { benchDecode(b, devices.Zigbee2MQTT{}, "zigbee2mqtt") }

func BenchmarkDecodeTasmota(b *testing.B) { benchDecode(b, devices.Tasmota{}, "") }

func BenchmarkDecodeJSON(b *testing.B) {
	h, err := devices.NewJSON(devices.JSONConfig{Name: "plant_sensors", Pattern: "sensors/{device}/state",
		Fields: map[string]string{"temperature": "env.temp", "humidity": "env.rh", "state": "relay"}})
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, h, "plant1")
}

// BenchmarkDecodeHostile measures the cost of rejecting a 10,000-deep array.
func BenchmarkDecodeHostileDeep(b *testing.B) {
	p := make([]byte, 10000)
	for i := range p {
		p[i] = '['
	}
	m := devices.Message{Topic: "zigbee2mqtt/x", Payload: p}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := (devices.Zigbee2MQTT{}).Decode("zigbee2mqtt", m); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkRouterLookup routes topics among 200 sources of 100 tenants.
func BenchmarkRouterLookup(b *testing.B) {
	var mounts []devices.Mount
	for i := 0; i < 100; i++ {
		mounts = append(mounts,
			devices.Mount{Tenant: fmt.Sprint("t", i), Base: fmt.Sprintf("t%d/zigbee2mqtt", i), Handler: devices.Zigbee2MQTT{}},
			devices.Mount{Tenant: fmt.Sprint("t", i), Base: fmt.Sprintf("t%d/tasmota", i), Handler: devices.Tasmota{}})
	}
	r, err := devices.NewRouter(mounts...)
	if err != nil {
		b.Fatal(err)
	}
	topics := []string{"t42/zigbee2mqtt/kitchen/floor_light", "t7/tasmota/tele/plug_1/SENSOR", "t99/tasmota/stat/plug/POWER2", "t3/zigbee2mqtt/a/b/availability"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := r.Lookup(topics[i%len(topics)]); !ok {
			b.Fatal("no match")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkMatch(b *testing.B) {
	for i := 0; i < b.N; i++ {
		devices.Match("site/+/tele/+/SENSOR", "site/a/tele/plug/SENSOR")
	}
}
