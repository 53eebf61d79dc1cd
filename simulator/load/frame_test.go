package load

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
)

// frameOf builds a message notification as the bridge does, carrying a
// Reading with the load generator's stamps and an attribute of the
// caller's choice.
func frameOf(t testing.TB, channel string, offset uint64, step, seq, sent int64, attr string) []byte {
	data, err := json.Marshal(map[string]any{
		"device": "lg-0", "family": "zigbee2mqtt", "online": true,
		"metrics": map[string]any{"temperature": 21.5, metricStep: step, metricSeq: seq, metricSent: sent},
		"attrs":   map[string]string{"pad": attr},
	})
	require.NoError(t, err)
	return wire.AppendMessage(nil, &wire.Publication{Channel: channel, Epoch: "e1", Offset: offset, Data: data})
}

func TestParseFrame(t *testing.T) {
	want := delivery{channel: []byte("device:lg-7"), offset: 42, step: 3, seq: 1234, sentUS: 987654321}
	real := frameOf(t, "device:lg-7", 42, 3, 1234, 987654321, `"lg_seq":5 \"offset\":1`)
	require.True(t, fastPrefixMatches(real), "the bridge's frames take the fast path")
	for name, tc := range map[string]struct {
		frame string
		kind  frameKind
		want  delivery
		err   bool
	}{
		"bridge frame": {frame: string(real), kind: frameMessage, want: want},
		"spaced (slow path)": {frame: `{"jsonrpc": "2.0", "method": "message", "params": {"channel": "device:lg-7", "epoch": "e1", "offset": 42,
			"data": {"metrics": {"lg_step": 3, "lg_seq": 1234, "lg_sent_us": 987654321}}}}`, kind: frameMessage, want: want},
		"exponent stamps": {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-7","epoch":"e1","offset":42,"data":{"metrics":{"lg_step":3,"lg_seq":1.234e3,"lg_sent_us":987654321.0}}}}`, kind: frameMessage, want: want},
		"no stamps":       {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"devices","epoch":"e1","offset":1,"data":{"metrics":{"t":1}}}}`, kind: frameMessage, err: true},
		"fractional seq":  {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"c","epoch":"e1","offset":1,"data":{"metrics":{"lg_step":1,"lg_seq":1.5,"lg_sent_us":1}}}}`, kind: frameMessage, err: true},
		"lagged":          {frame: `{"jsonrpc":"2.0","method":"lagged","params":{"channel":"device:lg-7","offset":40}}`, kind: frameLagged, want: delivery{channel: []byte("device:lg-7")}},
		"disconnect":      {frame: `{"jsonrpc":"2.0","method":"disconnect","params":{"code":4009,"reason":"too slow","reconnect":true}}`, kind: frameDisconnect},
		"response":        {frame: `{"jsonrpc":"2.0","id":2,"result":{}}`, kind: frameOther},
		"garbage":         {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"x`, kind: frameOther, err: true},
		// The fast scan walks the '_' of the frame: underscores elsewhere,
		// stamp names inside strings and as values, keys that only end in
		// a stamp name, and stamps in any order are read as a decoder would.
		"underscores and decoys": {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-7","epoch":"e_1","offset":42,"data":{"received_at":"x_y","attrs":{"note":"\"lg_step\":9 lg_seq","name":"lg_seq"},"metrics":{"xlg_step":8,"a_lg_seq":7,"lg_sent_us":987654321,"lg_seq":1234,"lg_step":3}}}}`, kind: frameMessage, want: want},
		"negative and long": {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-7","epoch":"e1","offset":42,"data":{"metrics":{"lg_step":-3,"lg_seq":1234567890123456789,"lg_sent_us":-0}}}}`, kind: frameMessage,
			want: delivery{channel: []byte("device:lg-7"), offset: 42, step: -3, seq: 1234567890123456789, sentUS: 0}},
		"stamp missing": {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-7","epoch":"e1","offset":42,"data":{"metrics":{"lg_step":3,"lg_sent_us":1},"attrs":{"lg_seq":"5"}}}}`, kind: frameMessage, err: true},
		"sign only":     {frame: `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-7","epoch":"e1","offset":42,"data":{"metrics":{"lg_step":-,"lg_seq":1,"lg_sent_us":1}}}}`, kind: frameOther, err: true},
	} {
		t.Run(name, func(t *testing.T) {
			kind, d, err := parseFrame([]byte(tc.frame))
			require.Equal(t, tc.kind, kind)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, string(tc.want.channel), string(d.channel))
			require.Equal(t, [4]int64{tc.want.offset, tc.want.step, tc.want.seq, tc.want.sentUS}, [4]int64{d.offset, d.step, d.seq, d.sentUS})
		})
	}
}

func fastPrefixMatches(b []byte) bool {
	_, ok := fastMessage(b)
	return ok && len(b) > len(fastPrefix) && string(b[:len(fastPrefix)]) == string(fastPrefix)
}

// FuzzParseFrame: any bytes parse without a panic, and a frame the bridge
// would build from any values parses back to those values.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"c","offset":1}}`), "device:lg-1", uint64(7), int64(1), int64(2), int64(3), "xx")
	f.Add([]byte(`{"jsonrpc":"2.0","method":"message","params":{"channel":"`), `device:"q"`, uint64(0), int64(0), int64(-1), int64(1<<62), `"lg_sent_us":1`)
	f.Fuzz(func(t *testing.T, raw []byte, channel string, offset uint64, step, seq, sent int64, attr string) {
		_, _, _ = parseFrame(raw)
		if offset > 1<<62 {
			offset >>= 2 // the frame's offset must fit the int64 the parser returns
		}
		kind, d, err := parseFrame(frameOf(t, channel, offset, step, seq, sent, attr))
		require.Equal(t, frameMessage, kind)
		require.NoError(t, err)
		// json.Marshal replaces invalid UTF-8; compare with what it sent.
		wantChannel, _ := json.Marshal(channel)
		var ch string
		require.NoError(t, json.Unmarshal(wantChannel, &ch))
		require.Equal(t, ch, string(d.channel))
		require.Equal(t, int64(offset), d.offset)
		require.Equal(t, [3]int64{step, seq, sent}, [3]int64{d.step, d.seq, d.sentUS})
	})
}

// responseOf builds a response as the bridge does (wire.Response through
// encoding/json).
func responseOf(t testing.TB, id string, result any, e *wire.Error) []byte {
	b, err := json.Marshal(wire.Response{JSONRPC: "2.0", ID: json.RawMessage(id), Result: result, Error: e})
	require.NoError(t, err)
	return b
}

// The bridge's own connect and subscribe results take the fast path and
// read as a full decode would; anything else falls back to the decoder.
func TestFastResult(t *testing.T) {
	reading := json.RawMessage(`{"device":"lg-0","metrics":{"offset":7,"temperature":21.5}}`)
	connect := responseOf(t, "1", wire.ConnectResult{Session: "s_1", Node: "n", User: "u", Tenant: "default"}, nil)
	require.True(t, fastResult(connect, idConnect, nil))

	for name, tc := range map[string]struct {
		snapshot []json.RawMessage
		readings bool
	}{
		"readings":       {[]json.RawMessage{reading}, true},
		"empty snapshot": {[]json.RawMessage{}, false},
		"no snapshot":    {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			b := responseOf(t, "2", wire.SubscribeResult{Channel: `device:"x"offset":9`, Epoch: "e", Offset: 42, Snapshot: tc.snapshot}, nil)
			var fast subscribeResult
			require.True(t, fastResult(b, idSubscribe, &fast))
			require.Equal(t, int64(42), fast.Offset, "the result's offset, not the reading's")
			require.Equal(t, tc.readings, fast.readings)
			// The full decode agrees.
			var full subscribeResult
			require.NoError(t, json.Unmarshal(b, &response{Result: &full}))
			require.Equal(t, fast.Offset, full.Offset)
			require.Equal(t, fast.readings, len(full.Snapshot) > 0)
		})
	}

	var res subscribeResult
	for name, b := range map[string][]byte{
		"error":      responseOf(t, "2", nil, wire.NewError(wire.CodeForbidden, "no")),
		"other id":   responseOf(t, "1", wire.SubscribeResult{Offset: 1}, nil),
		"spaced":     []byte(`{"jsonrpc": "2.0", "id": 2, "result": {"offset": 1, "snapshot": []}}`),
		"no offset":  []byte(`{"jsonrpc":"2.0","id":2,"result":{"snapshot":[{"offset":3}]}}`),
		"bad value":  []byte(`{"jsonrpc":"2.0","id":2,"result":{"offset":1,"snapshot":7}}`),
		"unknown id": []byte(`{"jsonrpc":"2.0","id":3,"result":{}}`),
	} {
		require.False(t, fastResult(b, idSubscribe, &res), name)
	}
	require.False(t, fastResult(connect, 7, nil), "an id the generator never sends")
}

// benchFrame is a delivery as the bridge sends it in W1 (a 256-byte
// zigbee2mqtt payload from the publisher, captured from a run).
const benchFrame = `{"jsonrpc":"2.0","method":"message","params":{"channel":"device:lg-0","epoch":"f90b368813fc","offset":1,"data":{"device":"lg-0","family":"zigbee2mqtt","ts":"2026-12-03T21:13:52.103688017Z","received_at":"2026-12-03T21:13:52.103688017Z","metrics":{"battery":97,"humidity":48.2,"lg_sent_us":12345678901,"lg_seq":123456,"lg_step":3,"linkquality":120,"temperature":21.5},"attrs":{"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"stale":false}}}`

// BenchmarkParseFrame is the generator's parsing cost per delivery.
func BenchmarkParseFrame(b *testing.B) {
	frame := []byte(benchFrame)
	b.ReportAllocs()
	for b.Loop() {
		kind, d, err := parseFrame(frame)
		if kind != frameMessage || err != nil || d.sentUS != 12345678901 || d.step != 3 || d.seq != 123456 || d.offset != 1 {
			b.Fatal(kind, d, err)
		}
	}
}
