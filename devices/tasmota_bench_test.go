package devices_test

import (
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// BenchmarkTasmotaDecodeFullTopic decodes the simulator's traffic in a
// configured FullTopic with %topic% before %prefix%, device ids with '/'.
func BenchmarkTasmotaDecodeFullTopic(b *testing.B) {
	h, err := devices.NewTasmota(devices.TasmotaConfig{FullTopic: "tasmota/%topic%/%prefix%/", StateText: []string{"AUS", "AN"}})
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, h, "")
}

// BenchmarkTasmotaDecodeStatus0 decodes the Basic Response of
// https://tasmota.github.io/docs/JSON-Status-Responses/ (every Status
// section in one message), the largest message a Tasmota device sends.
func BenchmarkTasmotaDecodeStatus0(b *testing.B) {
	m := devices.Message{Topic: "stat/sonoff/STATUS0", ReceivedAt: time.Now(), Payload: []byte(`{"Status":{"Module":1,"FriendlyName":"XXX","Topic":"sonoff","ButtonTopic":"0","Power":0,"PowerOnState":0,"LedState":1,"SaveData":0,"SaveState":1,"ButtonRetain":0,"PowerRetain":0},` +
		`"StatusPRM":{"Baudrate":115200,"GroupTopic":"sonoffs","OtaUrl":"XXX","Uptime":"1 02:33:26","Sleep":150,"BootCount":32,"SaveCount":72,"SaveAddress":"FB000"},` +
		`"StatusFWR":{"Version":"5.12.0a","BuildDateTime":"2018.02.11 16:15:40","Boot":31,"Core":"2_4_0","SDK":"2.1.0(deb1901)"},` +
		`"StatusLOG":{"SerialLog":0,"WebLog":4,"SysLog":0,"LogHost":"domus1","LogPort":514,"SSId1":"XXX","SSId2":"XXX","TelePeriod":300,"SetOption":"00000001"},` +
		`"StatusMEM":{"ProgramSize":457,"Free":544,"Heap":23,"ProgramFlashSize":1024,"FlashSize":1024,"FlashMode":3},` +
		`"StatusNET":{"Hostname":"XXX","IPAddress":"192.168.178.XX","Gateway":"192.168.178.XX","Subnetmask":"255.255.255.XX","DNSServer":"192.168.178.XX","Mac":"2C:3A:E8:XX:XX:XX","Webserver":2,"WifiConfig":4},` +
		`"StatusTIM":{"UTC":"Thu Feb 15 00:00:50 2018","Local":"Thu Feb 15 01:00:50 2018","StartDST":"Sun Mar 25 02:00:00 2018","EndDST":"Sun Oct 28 03:00:00 2018","Timezone":1},` +
		`"StatusSNS":{"Time":"2018.02.15 01:00:50","Switch1":"OFF"},` +
		`"StatusSTS":{"Time":"2018.02.15 01:00:50","Uptime":"1 02:33:26","Vcc":3.504,"POWER":"OFF","Wifi":{"AP":1,"SSId":"XXX","RSSI":100,"APMac":"34:31:C4:XX:XX:XX"}}}`)}
	h := devices.Tasmota{}
	b.SetBytes(int64(len(m.Payload)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := h.Decode("", m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
