package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// marshalResult is what AppendResult must give: encoding/json's bytes.
func marshalResult(id json.RawMessage, result any) ([]byte, error) {
	return json.Marshal(Response{JSONRPC: "2.0", ID: id, Result: result})
}

func TestAppendResultMatchesEncodingJSON(t *testing.T) {
	exp := time.Date(2026, 12, 3, 21, 0, 0, 123456789, time.UTC)
	reading := json.RawMessage(`{"device":"kitchen-th","family":"zigbee2mqtt","ts":"2026-11-23T17:00:00.123Z","metrics":{"temperature":21.5},"attrs":{"model":"WSDCGQ11LM \"x\" \\ y"},"stale":false}`)
	cases := []struct {
		name string
		id   json.RawMessage
		res  any
		fast bool // built by hand, not by json.Marshal
	}{
		{"connect", json.RawMessage(`1`), ConnectResult{Session: "s_ab12", Node: "n1", User: "alice", Tenant: "acme", PingIntervalMS: 25000, ExpiresAt: exp}, true},
		{"connect, string id", json.RawMessage(`"req-1"`), ConnectResult{Session: "s", Node: "n", User: "u", Tenant: "t", ExpiresAt: exp}, true},
		{"connect, escaped user", json.RawMessage(`-7.5e3`), ConnectResult{Session: "s", Node: "<n>", User: "ü\"\\\x01\u2028\xff", Tenant: "t&", ExpiresAt: exp.In(time.FixedZone("x", 3600))}, true},
		{"connect, zero time", json.RawMessage(`1`), ConnectResult{}, true},
		{"subscribe, snapshot", json.RawMessage(`2`), SubscribeResult{Channel: "device:kitchen-th", Epoch: "e1", Offset: 42, Snapshot: []json.RawMessage{reading, reading}}, true},
		{"subscribe, empty snapshot", json.RawMessage(`2`), SubscribeResult{Channel: "devices", Epoch: "e1", Snapshot: []json.RawMessage{}}, true},
		{"subscribe, nil snapshot", json.RawMessage(`2`), SubscribeResult{Channel: "devices", Recovered: true, Offset: ^uint64(0)}, true},
		{"subscribe, snapshot with spaces", json.RawMessage(`2`), SubscribeResult{Snapshot: []json.RawMessage{json.RawMessage(`{ "a" : [1, 2] }`)}}, false},
		{"subscribe, snapshot with html", json.RawMessage(`2`), SubscribeResult{Snapshot: []json.RawMessage{json.RawMessage(`{"a":"<b>&"}`)}}, false},
		{"subscribe, snapshot with U+2028", json.RawMessage(`2`), SubscribeResult{Snapshot: []json.RawMessage{json.RawMessage("\"\u2028\u2029\"")}}, false},
		{"subscribe, snapshot with a nil element", json.RawMessage(`2`), SubscribeResult{Snapshot: []json.RawMessage{nil}}, true},
		{"subscribe, html-escaped id", json.RawMessage(`"<id>"`), SubscribeResult{}, false},
		{"subscribe, spaces in a string id", json.RawMessage(`"a b"`), SubscribeResult{}, true},
		{"nil id", nil, SubscribeResult{}, true},
		{"other result", json.RawMessage(`3`), PublishResult{Offset: 9}, false},
		{"pointer result", json.RawMessage(`3`), &ConnectResult{}, false},
		{"empty result", json.RawMessage(`3`), struct{}{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := marshalResult(tc.id, tc.res)
			require.NoError(t, err)
			got, err := AppendResult([]byte("prefix"), tc.id, tc.res)
			require.NoError(t, err)
			require.Equal(t, "prefix"+string(want), string(got))
			_, fast := appendResult(nil, tc.id, tc.res)
			require.Equal(t, tc.fast, fast, "taken by hand")
		})
	}
}

func TestAppendResultRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for name, res := range map[string]any{
		"invalid snapshot element": SubscribeResult{Snapshot: []json.RawMessage{json.RawMessage(`{"a":`)}},
		"empty snapshot element":   SubscribeResult{Snapshot: []json.RawMessage{{}}},
		"year outside RFC 3339":    ConnectResult{ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(name, func(t *testing.T) {
			_, werr := marshalResult(json.RawMessage(`1`), res)
			require.Error(t, werr)
			got, err := AppendResult([]byte("x"), json.RawMessage(`1`), res)
			require.Error(t, err)
			require.Equal(t, "x", string(got), "nothing appended")
		})
	}
}

func FuzzAppendResult(f *testing.F) {
	f.Add([]byte(`1`), "s_1", "n1", "alice", "acme", int64(25000), int64(1780000000), "devices", uint64(3), true, []byte(`{"device":"a","metrics":{"t":1}}`))
	f.Add([]byte(`"x<"`), "\u2028", "<", "\xff", "&", int64(-1), int64(-62135596800), `"q"\`, uint64(0), false, []byte(`[1, "\u2029", {"a" :"b"}]`))
	f.Add([]byte(` 7 `), "", "", "", "", int64(0), int64(253402300800), "", ^uint64(0), false, []byte(`"\"\\\/\b"`))
	f.Fuzz(func(t *testing.T, id []byte, session, node, user, tenant string, ping, exp int64, channel string, offset uint64, recovered bool, snap []byte) {
		for _, res := range []any{
			ConnectResult{Session: session, Node: node, User: user, Tenant: tenant, PingIntervalMS: ping, ExpiresAt: time.Unix(exp, ping).UTC()},
			SubscribeResult{Channel: channel, Epoch: session, Offset: offset, Recovered: recovered, Snapshot: []json.RawMessage{snap, snap}},
		} {
			want, werr := marshalResult(id, res)
			got, err := AppendResult(nil, id, res)
			if (werr != nil) != (err != nil) {
				t.Fatalf("errors differ: encoding/json %v, AppendResult %v", werr, err)
			}
			if werr == nil && string(got) != string(want) {
				t.Fatalf("AppendResult\n%s\nencoding/json\n%s", got, want)
			}
		}
	})
}

// snapshotWant is what AppendSnapshotResult must give: the subscribe
// result with each Reading json.Marshal encodes, through json.Marshal.
func snapshotWant(id json.RawMessage, r SubscribeResult, readings []devices.Reading) ([]byte, error) {
	r.Snapshot = []json.RawMessage{}
	for i := range readings {
		if b, err := json.Marshal(&readings[i]); err == nil {
			r.Snapshot = append(r.Snapshot, b)
		}
	}
	return marshalResult(id, r)
}

func TestAppendSnapshotResultMatchesEncodingJSON(t *testing.T) {
	res := SubscribeResult{Channel: "device:kitchen-th", Epoch: "e1", Offset: 7}
	good := *fuzzReading("kitchen th|zigbee2mqtt|temperature|humidity|model|WSDCGQ11LM", 21.5, 1764700000, 5, 3600, 8|16|32|2)
	html := *fuzzReading("<a>&|fam|\u2028|x", 1, 1764700000, 0, 0, 8|16)
	refused := *fuzzReading("a|b|c", 3, 1, 1, 0, 8|128)       // +Inf: encoding/json refuses it
	other := *fuzzReading("a|b|c", 3, 1764700000, 1, 0, 8|64) // an int metric: encoding/json's path
	for name, tc := range map[string]struct {
		id       json.RawMessage
		readings []devices.Reading
	}{
		"none":             {json.RawMessage(`2`), nil},
		"one":              {json.RawMessage(`2`), []devices.Reading{good}},
		"several":          {json.RawMessage(`"s"`), []devices.Reading{good, html, other, good}},
		"refused left out": {json.RawMessage(`2`), []devices.Reading{refused, good, refused, html, refused}},
		"only refused":     {json.RawMessage(`2`), []devices.Reading{refused}},
		"escaped id":       {json.RawMessage(`"<x>"`), []devices.Reading{good, refused, html}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := snapshotWant(tc.id, res, tc.readings)
			require.NoError(t, err)
			got, err := AppendSnapshotResult([]byte("prefix"), tc.id, res, tc.readings)
			require.NoError(t, err)
			require.Equal(t, "prefix"+string(want), string(got))
		})
	}
	_, err := AppendSnapshotResult(nil, json.RawMessage(`1`), SubscribeResult{Snapshot: []json.RawMessage{}}, nil)
	require.Error(t, err, "a snapshot in the result")
}

func FuzzAppendSnapshotResult(f *testing.F) {
	f.Add([]byte(`2`), "device:a", "zigbee2mqtt/kitchen sensor|zigbee2mqtt|temperature|humidity|model|TS0201", 21.5, int64(1764700000), int64(123456789), 0, uint8(8|16|2|4))
	f.Add([]byte(`"<"`), "app:\u2028", "<script>&amp;\u2028\x00|fam|\xff\xfe|é", 1e-7, int64(-62135596800), int64(1), -19800, uint8(8|16|32))
	f.Add([]byte(`3`), "devices", "a|b|c|d", 3.0, int64(1), int64(1), 0, uint8(8|128))
	f.Fuzz(func(t *testing.T, id []byte, channel, text string, fv float64, sec, nsec int64, offset int, flags uint8) {
		if len(text) > 2048 {
			return
		}
		readings := []devices.Reading{*fuzzReading(text, fv, sec, nsec, offset, flags), *fuzzReading(text+"|x", -fv, sec+1, nsec, offset, flags^8)}
		res := SubscribeResult{Channel: channel, Epoch: text, Offset: uint64(sec)}
		want, werr := snapshotWant(id, res, readings)
		got, err := AppendSnapshotResult(nil, id, res, readings)
		if (werr != nil) != (err != nil) {
			t.Fatalf("errors differ: encoding/json %v, AppendSnapshotResult %v", werr, err)
		}
		if werr == nil && string(got) != string(want) {
			t.Fatalf("AppendSnapshotResult\n%s\nencoding/json\n%s", got, want)
		}
	})
}
