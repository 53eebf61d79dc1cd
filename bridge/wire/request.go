package wire

import (
	"bytes"
	"encoding/json"

	"github.com/mqlive/mqlive/bridge/internal/jsonscan"
)

// The request path's fast paths (issue 10, W3). encoding/json read every
// request twice, the envelope with Unmarshal and the params again with a
// json.Decoder built per call, by reflection and on a stack it grew for
// it: a sixth of the server's CPU while sockets connected. These take the
// requests clients send, in one pass each and without reflection; anything
// they are not sure to read exactly as encoding/json would (an escape in
// a string, an unknown or repeated member, a member of another type, a
// nested object) is left to the general path, which also gives every
// error. FuzzParseRequestFast and FuzzDecodeParamsFast hold both paths
// equal.

// parseRequestFast is ParseRequest for a well-formed request whose
// members are jsonrpc, id, method and, optionally, params as an object,
// each once, with strings free of escapes. ok is false for anything else.
func parseRequestFast(frame []byte) (_ *Request, ok bool) {
	if !json.Valid(frame) {
		return nil, false
	}
	// The frame is valid JSON from here on: skipping a value only finds
	// where it ends.
	s := jsonscan.New(frame)
	s.Space()
	if !s.Eat('{') {
		return nil, false
	}
	var req Request
	var id, params []byte
	var seen uint32
	for {
		s.Space()
		key, ok := s.String()
		if !ok {
			return nil, false
		}
		s.Space()
		s.Eat(':')
		s.Space()
		var bit uint32
		switch string(key) {
		case "jsonrpc":
			bit = 1
			if v, ok := s.String(); !ok || string(v) != "2.0" {
				return nil, false
			}
		case "id":
			bit = 2
			start := s.Pos()
			s.SkipValid()
			id = frame[start:s.Pos()]
		case "method":
			bit = 4
			if !s.Str(&req.Method) || req.Method == "" {
				return nil, false
			}
		case "params":
			bit = 8
			if s.Peek() != '{' {
				return nil, false
			}
			start := s.Pos()
			s.SkipValid()
			params = frame[start:s.Pos()]
		default:
			return nil, false
		}
		if !jsonscan.Once(&seen, bit) {
			return nil, false // encoding/json keeps the last
		}
		s.Space()
		if !s.Eat(',') {
			break
		}
	}
	if seen&7 != 7 {
		return nil, false
	}
	if req.ID = validID(id); req.ID == nil {
		return nil, false
	}
	req.JSONRPC = "2.0"
	if params != nil {
		req.Params = bytes.Clone(params)
	}
	return &req, true
}

// decodeParamsFast is DecodeParams for the params of connect, subscribe,
// refresh, unsubscribe and presence as clients send them: an object of
// their known members, each once, strings without escapes, numbers where
// numbers go (jsonscan). It checks the text itself (params need not come
// from ParseRequest), and sets *v only when ok.
func decodeParamsFast(params []byte, v any) (ok bool) {
	if len(params) == 0 || string(params) == "null" {
		return false // rare; the general path gives the zero value
	}
	var seen uint32
	switch p := v.(type) {
	case *ConnectParams:
		var out ConnectParams
		ok = jsonscan.Object(params, func(key []byte, s *jsonscan.Scanner) bool {
			switch string(key) {
			case "token":
				return jsonscan.Once(&seen, 1) && s.Str(&out.Token)
			case "client":
				return jsonscan.Once(&seen, 2) && s.Str(&out.Client)
			}
			return false
		})
		if ok {
			*p = out
		}
	case *SubscribeParams:
		var out SubscribeParams
		ok = jsonscan.Object(params, func(key []byte, s *jsonscan.Scanner) bool {
			switch string(key) {
			case "channel":
				return jsonscan.Once(&seen, 1) && s.Str(&out.Channel)
			case "mode":
				return jsonscan.Once(&seen, 2) && s.Str(&out.Mode)
			case "max_rate_hz":
				return jsonscan.Once(&seen, 4) && s.Float(&out.MaxRateHz)
			}
			return false // since, too: rare, and an object
		})
		if ok {
			*p = out
		}
	case *RefreshParams:
		var out RefreshParams
		ok = jsonscan.Object(params, func(key []byte, s *jsonscan.Scanner) bool {
			return string(key) == "token" && jsonscan.Once(&seen, 1) && s.Str(&out.Token)
		})
		if ok {
			*p = out
		}
	case *ChannelParams:
		var out ChannelParams
		ok = jsonscan.Object(params, func(key []byte, s *jsonscan.Scanner) bool {
			return string(key) == "channel" && jsonscan.Once(&seen, 1) && s.Str(&out.Channel)
		})
		if ok {
			*p = out
		}
	}
	return ok
}
