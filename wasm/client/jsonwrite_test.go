package client

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s/`, "nl\n\r\t\x00\x1f", "ünïcødé 🌡", "bad\xffutf8", "sep\u2028\u2029", "<script>&"} {
		var got string
		require.NoError(t, json.Unmarshal(appendString(nil, s), &got), s)
		want := string([]rune(s)) // invalid bytes become U+FFFD, as in encoding/json
		require.Equal(t, want, got)
	}
}

func TestFrame(t *testing.T) {
	f := frame(7, "subscribe", newObj().str("channel", "devices").sub("since", positionObj(Position{Epoch: "e1", Offset: 42})).float("max_rate_hz", 2.5))
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(f), &v))
	require.Equal(t, map[string]any{
		"jsonrpc": "2.0", "id": 7.0, "method": "subscribe",
		"params": map[string]any{"channel": "devices", "since": map[string]any{"epoch": "e1", "offset": 42.0}, "max_rate_hz": 2.5},
	}, v)
	require.Equal(t, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, frame(1, "ping", nil))
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello")
	f.Add("\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		require.NoError(t, json.Unmarshal(appendString(nil, s), &got))
		require.Equal(t, string([]rune(s)), got)
	})
}
