package wire

import (
	"encoding/json"
	"testing"
)

func BenchmarkParseRequest(b *testing.B) {
	frame := []byte(`{"jsonrpc":"2.0","id":17,"method":"subscribe","params":{"channel":"devices","mode":"latest","max_rate_hz":2}}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseRequest(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	p := &Publication{Channel: "devices", Epoch: "a1b2c3d4e5f6", Offset: 123456,
		Data: json.RawMessage(`{"device":"kitchen-th","family":"zigbee2mqtt","online":true,"ts":"2026-11-23T17:00:00.123Z","received_at":"2026-11-23T17:00:00.131Z","metrics":{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120},"attrs":{"model":"WSDCGQ11LM"},"tags":{"site":"hq"},"stale":false}`)}
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], p)
	}
}

// BenchmarkMarshalMessage is the encoding/json baseline AppendMessage is
// measured against.
func BenchmarkMarshalMessage(b *testing.B) {
	p := Publication{Channel: "devices", Epoch: "a1b2c3d4e5f6", Offset: 123456,
		Data: json.RawMessage(`{"device":"kitchen-th","family":"zigbee2mqtt","online":true,"ts":"2026-11-23T17:00:00.123Z","received_at":"2026-11-23T17:00:00.131Z","metrics":{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120},"attrs":{"model":"WSDCGQ11LM"},"tags":{"site":"hq"},"stale":false}`)}
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(Notification{JSONRPC: "2.0", Method: MethodMessage, Params: p}); err != nil {
			b.Fatal(err)
		}
	}
}

// connectFrame is a session's first request as the SDK sends it, with a
// token of a typical size.
var connectFrame = []byte(`{"jsonrpc":"2.0","id":1,"method":"connect","params":{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInRlbmFudCI6ImFjbWUiLCJleHAiOjE3OTk5OTk5OTksImlhdCI6MTc2NDc5MDQwMCwiY2hhbiI6WyJkZXZpY2VzIiwiZGV2aWNlOioiXX0.5mhBHqs5_DTLdINd9p7HhbQx5YJ6nQGp0sVQ5qk1a2c","client":"mqlive-js/1.0"}}`)

// BenchmarkParseConnect is the work of one connect request before its
// token is verified: the envelope and the params.
func BenchmarkParseConnect(b *testing.B) {
	b.SetBytes(int64(len(connectFrame)))
	b.ReportAllocs()
	for b.Loop() {
		req, _, err := ParseRequest(connectFrame)
		if err != nil {
			b.Fatal(err)
		}
		var p ConnectParams
		if err := DecodeParams(req.Params, &p); err != nil || p.Token == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSubscribe is BenchmarkParseConnect for a subscribe.
func BenchmarkParseSubscribe(b *testing.B) {
	frame := []byte(`{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"device:kitchen-th","mode":"latest","max_rate_hz":2}}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		req, _, err := ParseRequest(frame)
		if err != nil {
			b.Fatal(err)
		}
		var p SubscribeParams
		if err := DecodeParams(req.Params, &p); err != nil || p.Channel == "" {
			b.Fatal(err)
		}
	}
}
