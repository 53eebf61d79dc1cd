package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// fuzzReading builds a Reading from fuzz input: names and values split out
// of text (so that any byte, invalid UTF-8 and escapes included, reaches
// every string), numbers from f and its neighbours, times from unix
// seconds and a zone offset.
func fuzzReading(text string, f float64, sec, nsec int64, offset int, flags uint8) *devices.Reading {
	parts := strings.Split(text, "|")
	at := func(i int) string { return parts[i%len(parts)] }
	zone := time.FixedZone("z", offset)
	r := &devices.Reading{
		Device:     at(0),
		Family:     at(1),
		TS:         time.Unix(sec, nsec).In(zone),
		ReceivedAt: time.Unix(sec/3, nsec/7).UTC(),
		Stale:      flags&1 != 0,
	}
	if flags&2 != 0 {
		on := flags&4 != 0
		r.Online = &on
	}
	if flags&8 != 0 {
		r.Metrics = map[string]any{}
		for i, p := range parts {
			switch i % 4 {
			case 0:
				r.Metrics[p] = f * float64(i+1)
			case 1:
				r.Metrics[p+"_n"] = math.Float64frombits(math.Float64bits(f) + uint64(i))
			case 2:
				r.Metrics[p] = i%3 == 0
			default:
				r.Metrics[p] = f / float64(i+1)
			}
		}
	}
	if flags&16 != 0 {
		r.Attrs = map[string]string{}
		for i := 0; i+1 < len(parts); i += 2 {
			r.Attrs[parts[i]] = parts[i+1]
		}
	}
	if flags&32 != 0 {
		r.Tags = map[string]string{at(2): at(3)}
	}
	if flags&64 != 0 {
		r.Metrics = map[string]any{"count": 3} // not a float64: encoding/json's path
	}
	if flags&128 != 0 && r.Metrics != nil {
		r.Metrics["bad"] = math.Inf(1) // encoding/json's error
	}
	return r
}

// FuzzAppendReading holds AppendReading to json.Marshal: the same bytes,
// or the same refusal. Its seeds run in go test.
func FuzzAppendReading(f *testing.F) {
	f.Add("zigbee2mqtt/kitchen sensor|zigbee2mqtt|temperature|humidity|model|TS0201", 21.5, int64(1764700000), int64(123456789), 0, uint8(8|16|2|4))
	f.Add("plug|tasmota|power|voltage", 0.0, int64(1764700000), int64(0), 3600, uint8(8|1))
	f.Add("<script>&amp;\u2028\u2029\x00\x1f\"\\\b\f\n\r\t|fam|\xff\xfe|é😀", 1e-7, int64(-62135596800), int64(1), -19800, uint8(8|16|32))
	f.Add("a|b|c", 1e21, int64(253402300799), int64(999999999), 86340, uint8(8|16|32|2))
	f.Add("a|b|c", 123456789012345678.0, int64(253402300800), int64(0), 0, uint8(8)) // year 10000
	f.Add("a|b|c", -0.0, int64(-62135596801), int64(0), 0, uint8(8))                 // year -1
	f.Add("a|b|c", 5e-324, int64(0), int64(0), 90000, uint8(8))                      // zone 25 h
	f.Add("a|b|c", math.MaxFloat64, int64(0), int64(0), 59, uint8(8|64))             // zone with seconds; int metric
	f.Add("a|b|c|d|e|f|g|h", 3.0, int64(1), int64(1), 0, uint8(8|128))               // +Inf
	f.Add("", 0.1, int64(0), int64(0), 0, uint8(0))
	f.Fuzz(func(t *testing.T, text string, fv float64, sec, nsec int64, offset int, flags uint8) {
		if len(text) > 2048 {
			return
		}
		r := fuzzReading(text, fv, sec, nsec, offset%(100*3600), flags)
		want, wantErr := json.Marshal(r)
		prefix := []byte("prefix")
		got, err := AppendReading(prefix, r)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, json.Marshal %v", err, wantErr)
		}
		if err != nil {
			if !bytes.Equal(got, prefix) {
				t.Fatalf("a refused Reading left %q", got)
			}
			return
		}
		if !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("AppendReading\n%s\njson.Marshal\n%s", got[len(prefix):], want)
		}
	})
}
