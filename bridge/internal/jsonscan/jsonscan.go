package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// Scanner reads one value at a time from JSON text that may not be
// valid: every value it accepts is checked as it is read (SkipValid
// aside).
type Scanner struct {
	b []byte
	i int
}

// New returns a Scanner at the start of b.
func New(b []byte) Scanner { return Scanner{b: b} }

// Pos is how far the Scanner has read.
func (s *Scanner) Pos() int { return s.i }

// Object reads b as one JSON object and hands each member's key (without
// escapes) to member, which must read the value; false when b is not
// such an object (surrounding whitespace aside), or member says no.
func Object(b []byte, member func(key []byte, s *Scanner) bool) bool {
	s := New(b)
	s.Space()
	if !s.Eat('{') {
		return false
	}
	s.Space()
	if !s.Eat('}') {
		for {
			key, ok := s.String()
			if !ok {
				return false
			}
			s.Space()
			if !s.Eat(':') {
				return false
			}
			s.Space()
			if !member(key, &s) {
				return false
			}
			s.Space()
			if s.Eat('}') {
				break
			}
			if !s.Eat(',') {
				return false
			}
			s.Space()
		}
	}
	s.Space()
	return s.i == len(s.b)
}

// Once marks bit in seen; false when it was marked already (a member
// repeated, which encoding/json reads as the last one).
func Once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// Peek is the next byte, or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Eat reads c if it is next.
func (s *Scanner) Eat(c byte) bool {
	if s.Peek() == c {
		s.i++
		return true
	}
	return false
}

// Space reads whitespace.
func (s *Scanner) Space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// String reads a string without escapes, control characters or invalid
// UTF-8 (which encoding/json would replace) and returns what is between
// its quotes; not ok, and nothing read, for anything else.
func (s *Scanner) String() ([]byte, bool) {
	if s.Peek() != '"' {
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

// Str reads a string (String) into *dst.
func (s *Scanner) Str(dst *string) bool {
	v, ok := s.String()
	if ok {
		*dst = string(v)
	}
	return ok
}

// Strings reads an array of strings (String) into *dst; an empty array
// is an empty slice, not nil, as encoding/json makes it.
func (s *Scanner) Strings(dst *[]string) bool {
	if !s.Eat('[') {
		return false
	}
	out := []string{}
	s.Space()
	if !s.Eat(']') {
		for {
			v, ok := s.String()
			if !ok {
				return false
			}
			out = append(out, string(v))
			s.Space()
			if s.Eat(']') {
				break
			}
			if !s.Eat(',') {
				return false
			}
			s.Space()
		}
	}
	*dst = out
	return true
}

// Bool reads true or false into *dst.
func (s *Scanner) Bool(dst *bool) bool {
	for _, lit := range [...]struct {
		text string
		v    bool
	}{{"true", true}, {"false", false}} {
		if len(s.b)-s.i >= len(lit.text) && string(s.b[s.i:s.i+len(lit.text)]) == lit.text {
			s.i += len(lit.text)
			*dst = lit.v
			return true
		}
	}
	return false
}

// Number reads a number, checked against JSON's grammar, and returns its
// text.
func (s *Scanner) Number() ([]byte, bool) {
	start := s.i
	s.Eat('-')
	switch c := s.Peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		s.i = start
		return nil, false
	}
	if s.Eat('.') && !s.digits() {
		s.i = start
		return nil, false
	}
	if c := s.Peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.Peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			s.i = start
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// Float reads a number into *dst as encoding/json does into a float64
// (one float64 cannot hold is encoding/json's error: not ok).
func (s *Scanner) Float(dst *float64) bool {
	v, ok := s.Number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

// SkipValid moves past one value of text already known to be valid JSON
// (json.Valid): it only finds where the value ends.
func (s *Scanner) SkipValid() {
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
func (s *Scanner) skipString() {
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

// digits reads one or more decimal digits.
func (s *Scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
