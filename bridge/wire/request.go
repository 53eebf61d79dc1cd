package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
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
	// The frame is valid JSON from here on: the scan only finds where
	// things are.
	s := scanner{b: frame}
	s.space()
	if !s.eat('{') {
		return nil, false
	}
	var req Request
	var id, params []byte
	var seen uint8
	for {
		s.space()
		key, ok := s.plainString()
		if !ok {
			return nil, false
		}
		s.space()
		s.eat(':')
		s.space()
		var bit uint8
		switch string(key) {
		case "jsonrpc":
			bit = 1
			v, ok := s.plainString()
			if !ok || string(v) != "2.0" {
				return nil, false
			}
		case "id":
			bit = 2
			start := s.i
			s.skipValue()
			id = frame[start:s.i]
		case "method":
			bit = 4
			v, ok := s.plainString()
			if !ok || len(v) == 0 || !utf8.Valid(v) {
				return nil, false // invalid UTF-8 is replaced by encoding/json
			}
			req.Method = string(v)
		case "params":
			bit = 8
			if s.peek() != '{' {
				return nil, false
			}
			start := s.i
			s.skipValue()
			params = frame[start:s.i]
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false // encoding/json keeps the last
		}
		seen |= bit
		s.space()
		if !s.eat(',') {
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

// scanner walks JSON text already known to be valid.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// plainString reads a string without escapes and returns what is between
// its quotes; not ok, and nothing read, when the value is not a string or
// has an escape.
func (s *scanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			return nil, false
		case '"':
			v := s.b[s.i+1 : j]
			s.i = j + 1
			return v, true
		}
	}
	return nil, false
}

// skipValue moves past one value.
func (s *scanner) skipValue() {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.skipString()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing value
			}
			if depth--; depth == 0 {
				s.i++
				return
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return
			}
		}
		s.i++
	}
}

// skipString moves past the string that starts at s.i.
func (s *scanner) skipString() {
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return
		}
	}
}

// decodeParamsFast is DecodeParams for the params of connect, subscribe,
// refresh, unsubscribe and presence as clients send them: an object of
// their known members, each once, strings without escapes, numbers where
// numbers go. It checks the text itself (params need not come from
// ParseRequest), and sets *v only when ok.
func decodeParamsFast(params []byte, v any) (ok bool) {
	if len(params) == 0 || string(params) == "null" {
		return false // rare; the general path gives the zero value
	}
	switch p := v.(type) {
	case *ConnectParams:
		var out ConnectParams
		var seen uint8
		ok = members(params, func(key []byte, s *strictScanner) bool {
			switch string(key) {
			case "token":
				return once(&seen, 1) && s.str(&out.Token)
			case "client":
				return once(&seen, 2) && s.str(&out.Client)
			}
			return false
		})
		if ok {
			*p = out
		}
	case *SubscribeParams:
		var out SubscribeParams
		var seen uint8
		ok = members(params, func(key []byte, s *strictScanner) bool {
			switch string(key) {
			case "channel":
				return once(&seen, 1) && s.str(&out.Channel)
			case "mode":
				return once(&seen, 2) && s.str(&out.Mode)
			case "max_rate_hz":
				return once(&seen, 4) && s.float(&out.MaxRateHz)
			}
			return false // since, too: rare, and an object
		})
		if ok {
			*p = out
		}
	case *RefreshParams:
		var out RefreshParams
		var seen uint8
		ok = members(params, func(key []byte, s *strictScanner) bool {
			return string(key) == "token" && once(&seen, 1) && s.str(&out.Token)
		})
		if ok {
			*p = out
		}
	case *ChannelParams:
		var out ChannelParams
		var seen uint8
		ok = members(params, func(key []byte, s *strictScanner) bool {
			return string(key) == "channel" && once(&seen, 1) && s.str(&out.Channel)
		})
		if ok {
			*p = out
		}
	}
	return ok
}

// once marks bit in seen; false when it was marked (a repeated member).
func once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// members reads a JSON object and hands each member's key (without
// escapes) to member, which reads the value; false when the text is not
// such an object, or member says no.
func members(b []byte, member func(key []byte, s *strictScanner) bool) bool {
	s := strictScanner{scanner{b: b}}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if !s.eat('}') {
		for {
			key, ok := s.plainString()
			if !ok {
				return false
			}
			s.space()
			if !s.eat(':') {
				return false
			}
			s.space()
			if !member(key, &s) {
				return false
			}
			s.space()
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return false
			}
			s.space()
		}
	}
	s.space()
	return s.i == len(s.b)
}

// strictScanner reads JSON text that may not be valid: each value it
// accepts is checked as it is read.
type strictScanner struct{ scanner }

// plainString is scanner.plainString that also refuses what JSON forbids
// in a string (control characters) and invalid UTF-8, which encoding/json
// would replace.
func (s *strictScanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	ascii := true
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			v := s.b[s.i+1 : j]
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			s.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// str reads a string value into *dst.
func (s *strictScanner) str(dst *string) bool {
	v, ok := s.plainString()
	if ok {
		*dst = string(v)
	}
	return ok
}

// float reads a number value into *dst as encoding/json does (a number
// float64 cannot hold is its error, left to the general path).
func (s *strictScanner) float(dst *float64) bool {
	start := s.i
	s.eat('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

// digits reads one or more decimal digits.
func (s *strictScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
