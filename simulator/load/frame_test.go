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
