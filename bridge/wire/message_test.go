package wire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRequestValid(t *testing.T) {
	cases := []struct {
		name, frame, id, method, params string
	}{
		{"number id", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, `1`, "ping", ""},
		{"string id", `{"jsonrpc":"2.0","id":"abc","method":"ping"}`, `"abc"`, "ping", ""},
		{"negative id", `{"jsonrpc":"2.0","id":-7,"method":"ping"}`, `-7`, "ping", ""},
		{"fraction id", `{"jsonrpc":"2.0","id":1.5e3,"method":"ping"}`, `1.5e3`, "ping", ""},
		{"zero id", `{"jsonrpc":"2.0","id":0,"method":"ping"}`, `0`, "ping", ""},
		{"empty string id", `{"jsonrpc":"2.0","id":"","method":"ping"}`, `""`, "ping", ""},
		{"unicode id", `{"jsonrpc":"2.0","id":"é\u00e9","method":"ping"}`, `"é\u00e9"`, "ping", ""},
		{"uint64 overflowing id", `{"jsonrpc":"2.0","id":184467440737095516150,"method":"ping"}`, `184467440737095516150`, "ping", ""},
		{"params object", `{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"devices"}}`, `2`, "subscribe", `{"channel":"devices"}`},
		{"params array", `{"jsonrpc":"2.0","id":2,"method":"x","params":[1,2]}`, `2`, "x", `[1,2]`},
		{"whitespace", " \n\t{ \"id\" : 3 , \"method\" : \"ping\", \"jsonrpc\" : \"2.0\" } \r\n", `3`, "ping", ""},
		{"unknown member ignored", `{"jsonrpc":"2.0","id":4,"method":"ping","extra":true}`, `4`, "ping", ""},
		{"unknown method is the caller's business", `{"jsonrpc":"2.0","id":5,"method":"nope"}`, `5`, "nope", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frame := []byte(tc.frame)
			req, id, rerr := ParseRequest(frame)
			require.Nil(t, rerr)
			require.NotNil(t, req)
			require.Equal(t, tc.id, string(id))
			require.Equal(t, tc.id, string(req.ID))
			require.Equal(t, "2.0", req.JSONRPC)
			require.Equal(t, tc.method, req.Method)
			require.Equal(t, tc.params, string(req.Params))
			// The request owns its memory: scribbling over the frame
			// changes nothing (doc.go).
			for i := range frame {
				frame[i] = 'x'
			}
			require.Equal(t, tc.id, string(req.ID))
			require.Equal(t, tc.id, string(id))
			require.Equal(t, tc.params, string(req.Params))
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	hugeID := `"` + strings.Repeat("9", 200) + `"`
	hugeNum := strings.Repeat("9", 129)
	cases := []struct {
		name, frame string
		code        int
		id          string
	}{
		{"empty frame", ``, CodeParseError, "null"},
		{"whitespace only", "  \n", CodeParseError, "null"},
		{"truncated", `{"jsonrpc":"2.0","id":1,"method":"ping"`, CodeParseError, "null"},
		{"trailing garbage", `{"jsonrpc":"2.0","id":1,"method":"ping"}x`, CodeParseError, "null"},
		{"two objects", `{"jsonrpc":"2.0","id":1,"method":"ping"}{}`, CodeParseError, "null"},
		{"not json", `hello`, CodeParseError, "null"},
		{"single quotes", `{'id':1}`, CodeParseError, "null"},
		{"invalid utf8 outside strings", "\xff", CodeParseError, "null"},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, CodeInvalidRequest, "null"},
		{"empty batch", `[]`, CodeInvalidRequest, "null"},
		{"number", `42`, CodeInvalidRequest, "null"},
		{"string", `"ping"`, CodeInvalidRequest, "null"},
		{"null", `null`, CodeInvalidRequest, "null"},
		{"true", `true`, CodeInvalidRequest, "null"},
		{"empty object", `{}`, CodeInvalidRequest, "null"},
		{"missing id", `{"jsonrpc":"2.0","method":"ping"}`, CodeInvalidRequest, "null"},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, CodeInvalidRequest, "null"},
		{"bool id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, CodeInvalidRequest, "null"},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, CodeInvalidRequest, "null"},
		{"array id", `{"jsonrpc":"2.0","id":[1],"method":"ping"}`, CodeInvalidRequest, "null"},
		{"huge string id", `{"jsonrpc":"2.0","id":` + hugeID + `,"method":"ping"}`, CodeInvalidRequest, "null"},
		{"huge number id", `{"jsonrpc":"2.0","id":` + hugeNum + `,"method":"ping"}`, CodeInvalidRequest, "null"},
		{"missing jsonrpc", `{"id":1,"method":"ping"}`, CodeInvalidRequest, "1"},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, CodeInvalidRequest, "1"},
		{"jsonrpc number", `{"jsonrpc":2.0,"id":1,"method":"ping"}`, CodeInvalidRequest, "1"},
		{"missing method", `{"jsonrpc":"2.0","id":"a"}`, CodeInvalidRequest, `"a"`},
		{"empty method", `{"jsonrpc":"2.0","id":"a","method":""}`, CodeInvalidRequest, `"a"`},
		{"method number", `{"jsonrpc":"2.0","id":9,"method":5}`, CodeInvalidRequest, "9"},
		{"method number, id after", `{"jsonrpc":"2.0","method":5,"id":9}`, CodeInvalidRequest, "9"},
		{"method null", `{"jsonrpc":"2.0","id":9,"method":null}`, CodeInvalidRequest, "9"},
		{"method number and bad id", `{"jsonrpc":"2.0","id":true,"method":5}`, CodeInvalidRequest, "null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, id, rerr := ParseRequest([]byte(tc.frame))
			require.Nil(t, req)
			require.NotNil(t, rerr)
			require.Equal(t, tc.code, rerr.Code, rerr.Message)
			require.Equal(t, tc.id, string(id))
			require.True(t, json.Valid(id))
			require.NotEmpty(t, rerr.Message)
			require.Contains(t, rerr.Error(), rerr.Message)
		})
	}
}

func TestErrorIsAnError(t *testing.T) {
	var err error = NewError(CodeForbidden, "permission denied")
	require.Equal(t, "rpc error 4003: permission denied", err.Error())
}

func TestDecodeParams(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		var p SubscribeParams
		require.Nil(t, DecodeParams(json.RawMessage(`{"channel":"devices","mode":"latest","max_rate_hz":2.5,"since":{"epoch":"e1","offset":7}}`), &p))
		require.Equal(t, SubscribeParams{Channel: "devices", Mode: "latest", MaxRateHz: 2.5, Since: &StreamPosition{Epoch: "e1", Offset: 7}}, p)
	})
	for _, empty := range []string{"", "null"} {
		t.Run("absent params "+empty, func(t *testing.T) {
			var p ChannelParams
			require.Nil(t, DecodeParams(json.RawMessage(empty), &p))
			require.Equal(t, ChannelParams{}, p)
		})
	}
	bad := []struct {
		name, params, want string
	}{
		{"unknown field", `{"channel":"devices","chanel":"x"}`, "chanel"},
		{"wrong type string", `{"channel":5}`, "channel"},
		{"wrong type offset", `{"channel":"devices","since":{"epoch":"e","offset":"7"}}`, "offset"},
		{"negative offset", `{"channel":"devices","since":{"epoch":"e","offset":-1}}`, "offset"},
		{"nested unknown field", `{"channel":"devices","since":{"epoch":"e","offset":1,"x":1}}`, "x"},
		{"array", `[1]`, "invalid params"},
		{"string", `"devices"`, "invalid params"},
		{"rate as string", `{"channel":"devices","max_rate_hz":"fast"}`, "max_rate_hz"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var p SubscribeParams
			rerr := DecodeParams(json.RawMessage(tc.params), &p)
			require.NotNil(t, rerr)
			require.Equal(t, CodeInvalidParams, rerr.Code)
			require.Contains(t, rerr.Message, tc.want)
		})
	}
	t.Run("history until", func(t *testing.T) {
		var p HistoryParams
		require.Nil(t, DecodeParams(json.RawMessage(`{"channel":"app:x","until":"2026-11-23T17:00:00Z","limit":10}`), &p))
		require.NotNil(t, p.Until)
		require.Equal(t, 10, p.Limit)
		rerr := DecodeParams(json.RawMessage(`{"channel":"app:x","until":"yesterday"}`), &p)
		require.NotNil(t, rerr)
		require.Equal(t, CodeInvalidParams, rerr.Code)
	})
	t.Run("long error messages are cut", func(t *testing.T) {
		var p ChannelParams
		rerr := DecodeParams(json.RawMessage(`{"`+strings.Repeat("k", 500)+`":1}`), &p)
		require.NotNil(t, rerr)
		require.LessOrEqual(t, len(rerr.Message), len("invalid params: ")+120)
	})
}

func TestAppendMessageMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		name string
		p    Publication
	}{
		{"reading", Publication{Channel: "devices", Epoch: "e1", Offset: 42, Data: json.RawMessage(`{"device":"kitchen-th","metrics":{"temperature":21.5}}`)}},
		{"conflated", Publication{Channel: "devices", Epoch: "e1", Offset: 57, Conflated: 6, Data: json.RawMessage(`{"device":"a"}`)}},
		{"nil data", Publication{Channel: "app:x", Epoch: "e", Offset: 1}},
		{"scalar data", Publication{Channel: "app:x", Epoch: "e", Offset: 1, Data: json.RawMessage(`"hi"`)}},
		{"zero offset", Publication{Channel: "monitor", Epoch: "", Offset: 0, Data: json.RawMessage(`[]`)}},
		{"max offset", Publication{Channel: "devices", Epoch: "e", Offset: ^uint64(0), Data: json.RawMessage(`1`)}},
		{"escaped channel", Publication{Channel: "device:a%20b", Epoch: "e", Offset: 3, Data: json.RawMessage(`{}`)}},
		{"quote and backslash", Publication{Channel: `app:"q"\`, Epoch: `e"\`, Offset: 3, Data: json.RawMessage(`{}`)}},
		{"html characters", Publication{Channel: "app:<a>&b", Epoch: "<e>", Offset: 3, Data: json.RawMessage(`{}`)}},
		{"control characters", Publication{Channel: "app:\x00\x01\n\t", Epoch: "\x7f", Offset: 3, Data: json.RawMessage(`{}`)}},
		{"unicode", Publication{Channel: "app:küche", Epoch: "ε\u2028", Offset: 3, Data: json.RawMessage(`{}`)}},
		{"invalid utf8", Publication{Channel: "app:\xff\xfe", Epoch: "e", Offset: 3, Data: json.RawMessage(`{}`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendMessage([]byte("prefix"), &tc.p)
			require.Equal(t, "prefix", string(got[:6]), "AppendMessage appends")
			got = got[6:]
			require.True(t, json.Valid(got), "%s", got)
			want, err := json.Marshal(Notification{JSONRPC: "2.0", Method: MethodMessage, Params: tc.p})
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got))

			var back struct {
				JSONRPC string      `json:"jsonrpc"`
				Method  string      `json:"method"`
				Params  Publication `json:"params"`
			}
			require.NoError(t, json.Unmarshal(got, &back))
			require.Equal(t, "2.0", back.JSONRPC)
			require.Equal(t, MethodMessage, back.Method)
			require.Equal(t, tc.p.Offset, back.Params.Offset)
			require.Equal(t, tc.p.Conflated, back.Params.Conflated)
		})
	}
}

func TestAppendMessageOmitsConflatedBelowTwo(t *testing.T) {
	// PROTOCOL.md "Publication": conflated (≥ 2) appears only on a merged
	// message.
	for _, n := range []int{0, 1} {
		got := AppendMessage(nil, &Publication{Channel: "devices", Epoch: "e", Offset: 1, Conflated: n, Data: json.RawMessage(`{}`)})
		require.NotContains(t, string(got), "conflated")
	}
	got := AppendMessage(nil, &Publication{Channel: "devices", Epoch: "e", Offset: 1, Conflated: 2, Data: json.RawMessage(`{}`)})
	require.Contains(t, string(got), `"conflated":2`)
}
