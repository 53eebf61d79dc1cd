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

// BenchmarkShellyDecodeGetStatus decodes the Shelly.GetStatus example of
// the Shelly API documentation published whole on <id>/status, a device
// at the root (a source's devices).
func BenchmarkShellyDecodeGetStatus(b *testing.B) {
	m := devices.Message{Topic: "shellyplus1-a8032abe54dc/status", ReceivedAt: time.Now(), Payload: []byte(`{"ble":{},"cloud":{"connected":false},"input:0":{"id":0,"state":false},"mqtt":{"connected":false},` +
		`"switch:0":{"id":0,"source":"init","output":false,"temperature":{"tC":53.3,"tF":127.9}},` +
		`"sys":{"mac":"A8032ABE54DC","restart_required":false,"time":"19:39","unixtime":1654694407,"uptime":109,"ram_size":253464,"ram_free":146012,"fs_size":458752,"fs_free":135168,"cfg_rev":7,"kvs_rev":0,"schedule_rev":0,"webhook_rev":0,"available_updates":{"stable":{"version":"0.10.2"}}},` +
		`"wifi":{"sta_ip":"192.168.2.151","status":"got ip","ssid":"Tsvetelin's","rssi":-62},"ws":{"connected":false}}`)}
	s := devices.Shelly{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Decode("", m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
