package devices_test

import (
	"reflect"
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
