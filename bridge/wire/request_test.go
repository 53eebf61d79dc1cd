package wire

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFastPathsTakeWhatClientsSend: the requests of a session start and
// their params, as the SDKs and the load generator send them, are read
// without encoding/json; if the fast paths stopped taking them, nothing
// else would notice.
func TestFastPathsTakeWhatClientsSend(t *testing.T) {
	for _, frame := range []string{
		string(connectFrame),
		`{"jsonrpc":"2.0","id":1,"method":"connect","params":{"client":"mqlive-sim-load","token":"a.b.c"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"device:lg-7"}}`,
		`{"jsonrpc":"2.0","id":"s-3","method":"subscribe","params":{"channel":"devices","mode":"latest","max_rate_hz":2.5}}`,
		`{"jsonrpc":"2.0","id":4,"method":"ping"}`,
		` { "id" : 5 , "method" : "unsubscribe" , "jsonrpc" : "2.0" , "params" : { "channel" : "tag:site:hq" } } `,
	} {
		req, ok := parseRequestFast([]byte(frame))
		require.True(t, ok, "envelope of %s", frame)
		if req.Params == nil {
			continue
		}
		var into any
		switch req.Method {
		case MethodConnect:
			into = &ConnectParams{}
		case MethodSubscribe:
			into = &SubscribeParams{}
		default:
			into = &ChannelParams{}
		}
		require.True(t, decodeParamsFast(req.Params, into), "params of %s", frame)
	}
}

// TestFastPathsLeaveTheRestToEncodingJSON: what the fast paths are not
// sure to read as encoding/json does goes to the general path, which
// gives the same answer (or the error) it always gave.
func TestFastPathsLeaveTheRestToEncodingJSON(t *testing.T) {
	for _, frame := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}`,
		`{"JSONRPC":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2\u002e0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"p\u0069ng"}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":null}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}`,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffng\"}",
		`{"jsonrpc":"2.0","id":1,"method":"ping"`,
		`{"jsonrpc":"2.0","method":"ping"}`,
		`{}`,
	} {
		_, ok := parseRequestFast([]byte(frame))
		require.False(t, ok, frame)
		checkParseRequest(t, []byte(frame))
	}
	for _, params := range []string{
		`{"token":"a","token":"b"}`,
		`{"token":"a\"b"}`,
		`{"Token":"a"}`,
		`{"token":"a","x":1}`,
		`{"token":5}`,
		`{"token":null}`,
		"{\"token\":\"\xff\"}",
		"{\"token\":\"a\x01\"}",
		`{"channel":"devices","since":{"epoch":"e","offset":1}}`,
		`{"channel":"devices","max_rate_hz":1e999}`,
		`{"channel":"devices","max_rate_hz":01}`,
		`{"channel":"devices","max_rate_hz":"2"}`,
		`{"channel":"devices"} x`,
		`{"channel":"devices",}`,
		`null`,
		``,
		`[]`,
	} {
		for _, v := range []any{&ConnectParams{}, &SubscribeParams{}, &RefreshParams{}, &ChannelParams{}} {
			require.False(t, decodeParamsFast([]byte(params), v), "%s into %T", params, v)
			checkDecodeParams(t, []byte(params))
		}
	}
}

// checkParseRequest fails t unless ParseRequest answers frame exactly as
// its general path does.
func checkParseRequest(t *testing.T, frame []byte) {
	t.Helper()
	req, id, rerr := ParseRequest(frame)
	wreq, wid, werr := parseRequest(frame)
	if !reflect.DeepEqual(req, wreq) || string(id) != string(wid) || !reflect.DeepEqual(rerr, werr) {
		t.Fatalf("frame %q:\nParseRequest %+v %s %v\ngeneral path %+v %s %v", frame, req, id, rerr, wreq, wid, werr)
	}
}

// checkDecodeParams fails t unless DecodeParams decodes params into each
// fast-path type exactly as its general path does.
func checkDecodeParams(t *testing.T, params []byte) {
	t.Helper()
	for _, typ := range []reflect.Type{
		reflect.TypeFor[ConnectParams](), reflect.TypeFor[SubscribeParams](),
		reflect.TypeFor[RefreshParams](), reflect.TypeFor[ChannelParams](),
	} {
		got, want := reflect.New(typ), reflect.New(typ)
		gerr := DecodeParams(params, got.Interface())
		werr := decodeParams(params, want.Interface())
		if !reflect.DeepEqual(got.Interface(), want.Interface()) || !reflect.DeepEqual(gerr, werr) {
			t.Fatalf("params %q into %s:\nDecodeParams %+v %v\ngeneral path %+v %v", params, typ, got, gerr, want, werr)
		}
	}
}

func FuzzParseRequestFast(f *testing.F) {
	for _, seed := range []string{
		string(connectFrame),
		`{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"device:lg-7","mode":"latest","max_rate_hz":2}}`,
		` { "id" : "x\"y" , "method" : "m" , "jsonrpc" : "2.0" , "params" : { "a" : [ 1 , { "b" : "}" } ] } } `,
		`{"jsonrpc":"2.0","id":-0.5e-3,"method":"é","params":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\\","t":"]"}}`,
		`{"jsonrpc":"2.0","id":"` + "\\u0000" + `","method":"\u00e9"}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","method":"x"}`,
		`{"jsonrpc":"2.0","id":true,"method":"ping"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkParseRequest(t, frame)
	})
}

func FuzzDecodeParamsFast(f *testing.F) {
	for _, seed := range []string{
		`{"token":"eyJ.eyJ.sig","client":"sdk"}`,
		`{"channel":"devices","mode":"latest","max_rate_hz":-0.0}`,
		`{"channel":"devices","max_rate_hz":1.7976931348623157e309}`,
		`{"channel":"devices","max_rate_hz":4.9e-325}`,
		` { "channel" : "é" } `,
		`{"channel":"a","channel":"b"}`,
		`{"mode":"stream","since":null}`,
		`{"token":""}`,
		`{}`,
		`{"client":"x"`,
		"{\"channel\":\"\xed\xa0\x80\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		checkDecodeParams(t, json.RawMessage(params))
	})
}
