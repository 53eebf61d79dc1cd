package devices_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkShellyDecode decodes the simulator's mixed Gen1/Gen2 traffic.
func BenchmarkShellyDecode(b *testing.B) {
	s := devices.Shelly{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var msgs []devices.Message
	for i := 0; i < 16; i++ {
		msgs = append(msgs, s.Sample("shellies", fmt.Sprintf("dev_%d", i), now, rand.New(rand.NewPCG(uint64(i), 1)))...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Decode("shellies", msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkShellyDecodeFullStatus decodes a Plus H&T NotifyFullStatus, the
// largest frame a Gen2 device sends routinely.
func BenchmarkShellyDecodeFullStatus(b *testing.B) {
	m := devices.Message{Topic: "shellies/dev/events/rpc", ReceivedAt: time.Now(), Payload: []byte(`{"src":"dev","dst":"shellies/dev/events","method":"NotifyFullStatus","params":{"ts":1700000000.00,` +
		`"devicepower:0":{"id":0,"battery":{"V":5.98,"percent":96},"external":{"present":false}},"humidity:0":{"id":0,"rh":48.3},` +
		`"temperature:0":{"id":0,"tC":22.4,"tF":72.3},"sys":{"mac":"08B61FCB7F3C","restart_required":false,"uptime":12,"ram_free":96720,"unixtime":1700000000},` +
		`"wifi":{"sta_ip":"192.168.1.50","status":"got ip","ssid":"home","rssi":-61},"cloud":{"connected":false},"mqtt":{"connected":true}}}`)}
	s := devices.Shelly{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Decode("shellies", m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
