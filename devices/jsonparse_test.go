package devices_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

// FuzzDecodeValue holds the fast decoders to encoding/json's: for any
// payload, decodeValue and decodeObject return what decodeValueSlow and
// decodeObjectSlow return (values, members in order, and the error's
// reason and text). Where a payload has several numbers out of float64
// range, which one the error names may differ: the slow path checked a
// map's in its random order. The seeds run in go test.
func FuzzDecodeValue(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add(p.Data)
		}
	}
	for _, s := range []string{
		`{"temperature":21.5,"humidity":40.2,"battery":97,"linkquality":120,"state":"ON","color":{"x":0.3,"y":0.31},"update":{"state":"idle"},"list":[1,"a",null,true,{"k":[]}],"n":null}`,
		`{"b":1,"a":2,"b":3}`, `{"a":{"x":1,"x":{"y":2}},"a":[]}`,
		` {"k" : "v\u00e9\ud83d\ude00\ud800\"\\\/\b\f\n\r\t" } `, `{"\u0041":1,"A":2}`,
		`[1e400]`, `{"a":1e400,"b":-1e400}`, `{"a":[1,2,{"c":1e999}]}`, `-0`, `1E+2`, `0.000001`,
		`"str"`, `true`, `false`, `null`, `[]`, `{}`, `[{}]`, "\t{\n}\r",
		`{"a":1}{"b":2}`, `{"a":1,}`, `{"a":01}`, `{"a":.5}`, `{a:1}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a"`, `{`, ``, ` `,
		`"\ud83d\ude00"`, `"\uD83D\uDE00x"`, `{"\ud83d\ude00":"\ud83d\ude00","a\ud83d\ude00":1}`,
		`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `"\ud800x"`, `"\ud83d\ude00\ude00"`,
		`{"\ud800":1,"\ufffd":2}`, `{"\ud800\u0041":1,"\ufffd":2,"\ufffdA":3}`, `["\\ud800", "\\\ud83d\ude00"]`,
		`[1.]`, `[-]`, `[-01]`, `[1.e5]`, `[1e]`, `[1e+]`, `[.5]`, `[+1]`, `[NaN]`, `[nan]`, `[Infinity]`, `[-inf]`, `[1 2]`,
		`[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{"a":}`, `[tru]`, `nul`, `"abc`, `"\'"`, `["\u12"]`, `["\u12G4"]`, "{\"\x01\":1}",
		"[\"a\x1fb\"]", "[\"\x7f\"]", "\v1", "1\u00a0", `{"a":1}}`, `[]]`, `0e5`, `-0.0E-0`, `{"a":"\`,
		`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":33,"k18":18,"k17":77}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		sameResult := func(what string, got, want any, gotErr, wantErr error) {
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("%s: error %v, encoding/json %v", what, gotErr, wantErr)
			}
			if gotErr != nil {
				_, r1 := devices.Verdict(gotErr)
				_, r2 := devices.Verdict(wantErr)
				if r1 != r2 || (r1 != devices.ReasonInvalidNumber && gotErr.Error() != wantErr.Error()) {
					t.Fatalf("%s: error %v, encoding/json %v", what, gotErr, wantErr)
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n%#v\nencoding/json:\n%#v", what, got, want)
			}
		}
		v, err := devices.DecodeValue(p)
		sv, serr := devices.DecodeValueSlow(p)
		sameResult("decodeValue", v, sv, err, serr)
		obj, err := devices.DecodeObject(p)
		sobj, serr := devices.DecodeObjectSlow(p)
		sameResult("decodeObject", obj, sobj, err, serr)
	})
}

// benchPayloads are a fleet zigbee2mqtt state (what BenchmarkFleetIngest
// sends), a nested status of about 1 KiB, and text with escapes.
var benchPayloads = []struct{ name, p string }{
	{"flat", `{"temperature":21.5,"humidity":40.2,"pressure":1013.4,"battery":97,"voltage":2950,"linkquality":120,"seq":123456}`},
	{"nested", `{"ble":{},"cloud":{"connected":true},"input:0":{"id":0,"state":false},"mqtt":{"connected":true},` +
		`"switch:0":{"id":0,"source":"init","output":true,"apower":12.5,"voltage":231.2,"current":0.054,"aenergy":{"total":1234.567,"by_minute":[12.1,11.9,12.0],"minute_ts":1700000000},"temperature":{"tC":41.2,"tF":106.2}},` +
		`"sys":{"mac":"A8032ABE54DC","restart_required":false,"time":"12:00","unixtime":1700000000,"uptime":86400,"ram_size":246072,"ram_free":141444,"fs_size":458752,"fs_free":135168,"cfg_rev":10,"kvs_rev":0,"schedule_rev":0,"webhook_rev":0,"available_updates":{"stable":{"version":"1.1.0"}}},` +
		`"wifi":{"sta_ip":"192.168.1.20","status":"got ip","ssid":"home","rssi":-58},"ws":{"connected":false}}`},
	{"escaped", `{"name":"Caf\u00e9 \"corner\"","note":"line1\nline2\ttab \ud83d\ude00","path":"a\/b\\c","n":1}`},
}

// BenchmarkDecodeObject and BenchmarkDecodeValue measure the decoders
// alone (json.Valid, parse, copy into Go values, number checks).
func BenchmarkDecodeObject(b *testing.B) { benchJSON(b, devices.DecodeObjectErr) }
func BenchmarkDecodeValue(b *testing.B)  { benchJSON(b, devices.DecodeValueErr) }

func benchJSON(b *testing.B, decode func([]byte) error) {
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			p := []byte(bp.p)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := decode(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestObjectKeysAreShared: the keys of an object decoded again are the
// interned ones, not allocated per message: with values that need no
// allocation (bools, null), the members' slice is all a decode allocates.
func TestObjectKeysAreShared(t *testing.T) {
	p := []byte(`{"shared_a":true,"shared_b":false,"shared_c":true,"shared_d":null,"shared_e":true}`)
	if err := devices.DecodeObjectErr(p); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = devices.DecodeObjectErr(p) }); n != 1 {
		t.Fatalf("decoding allocates %v times, want 1 (the members)", n)
	}
}

// TestKeyNamesAreBounded: payloads of made-up keys fill the interned set
// up to its bound and no further, and their keys still decode as
// encoding/json decodes them (escaped, long, past the bound).
func TestKeyNamesAreBounded(t *testing.T) {
	long := strings.Repeat("k", 100)
	for i := range devices.MaxKeyNames + 200 {
		p := []byte(`{"made_up_` + strconv.Itoa(i) + `":1,"` + long + `":true,"esc\u0061ped":2}`)
		got, err := devices.DecodeObject(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := devices.DecodeObjectSlow(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %v, want %v", p, got, want)
		}
	}
	if n := devices.KeyNamesLen(); n > devices.MaxKeyNames {
		t.Fatalf("%d interned keys, bound %d", n, devices.MaxKeyNames)
	}
}
