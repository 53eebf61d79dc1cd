package wire

import (
	"encoding/json"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":"x","method":"subscribe","params":{"channel":"devices","since":{"epoch":"e","offset":3}}}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":true,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":5}`,
		`{"jsonrpc":"1.0","id":-1e400,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":"` + "\\u0000" + `","method":"\u00e9"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"ping"`,
		`{"JSONRPC":"2.0","ID":1,"METHOD":"ping"}`,
		` {"id" : 00}`,
		`"\ud800"`,
		``,
		"\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		in := append([]byte(nil), frame...)
		req, id, rerr := ParseRequest(frame)
		if string(in) != string(frame) {
			t.Fatal("ParseRequest modified its input")
		}
		if !json.Valid(id) {
			t.Fatalf("id %q is not valid JSON", id)
		}
		if rerr != nil {
			if req != nil {
				t.Fatal("both a request and an error")
			}
			if rerr.Code != CodeParseError && rerr.Code != CodeInvalidRequest {
				t.Fatalf("unexpected code %d", rerr.Code)
			}
			if rerr.Code == CodeParseError && string(id) != "null" {
				t.Fatalf("parse error with id %s", id)
			}
			return
		}
		if req.Method == "" || req.JSONRPC != "2.0" {
			t.Fatalf("accepted %+v", req)
		}
		if string(req.ID) != string(id) {
			t.Fatalf("id %s vs %s", req.ID, id)
		}
		if c := id[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
			t.Fatalf("id %s is not a number or string", id)
		}
		// An accepted id can be echoed in a response.
		if _, err := json.Marshal(Response{JSONRPC: "2.0", ID: id, Result: struct{}{}}); err != nil {
			t.Fatalf("response with id %s: %v", id, err)
		}
	})
}

func FuzzAppendMessage(f *testing.F) {
	f.Add("devices", "e1", uint64(42), 0, []byte(`{"device":"a"}`))
	f.Add("app:<x>", "\x00\"", uint64(0), 3, []byte(`[1,2]`))
	f.Add("app:\xff", "é", ^uint64(0), 1, []byte(`null`))
	f.Fuzz(func(t *testing.T, channel, epoch string, offset uint64, conflated int, data []byte) {
		if !json.Valid(data) {
			return // Publication data is valid JSON by contract
		}
		p := Publication{Channel: channel, Epoch: epoch, Offset: offset, Conflated: conflated, Data: data}
		got := AppendMessage(nil, &p)
		if !json.Valid(got) {
			t.Fatalf("invalid frame %q", got)
		}
		var back struct {
			Params Publication `json:"params"`
		}
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if back.Params.Offset != offset {
			t.Fatalf("offset %d vs %d", back.Params.Offset, offset)
		}
		if want := conflated; (want > 1 && back.Params.Conflated != want) || (want <= 1 && back.Params.Conflated != 0) {
			t.Fatalf("conflated %d vs %d", back.Params.Conflated, want)
		}
	})
}
