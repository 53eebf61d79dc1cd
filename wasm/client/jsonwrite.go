package client

import (
	"strconv"
	"unicode/utf8"
)

// obj builds one JSON object by appending members. It replaces
// encoding/json for the few fixed request shapes the client sends; opaque
// application data is spliced in as text produced by the Codec.
type obj struct {
	b     []byte
	first bool
}

func newObj() *obj { return &obj{b: append(make([]byte, 0, 128), '{'), first: true} }

func (o *obj) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *obj) str(k, v string) *obj { o.key(k); o.b = appendString(o.b, v); return o }

func (o *obj) int(k string, v int64) *obj { o.key(k); o.b = strconv.AppendInt(o.b, v, 10); return o }

func (o *obj) float(k string, v float64) *obj {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'g', -1, 64)
	return o
}

// raw appends v, which must already be valid JSON text.
func (o *obj) raw(k, v string) *obj { o.key(k); o.b = append(o.b, v...); return o }

func (o *obj) sub(k string, v *obj) *obj { return o.raw(k, v.String()) }

func (o *obj) String() string { return string(append(o.b, '}')) }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (RFC 8259 §7). Invalid UTF-8 is
// replaced by U+FFFD, as encoding/json does, so the frame always parses.
// U+2028 and U+2029 are escaped so the text is also safe inside a script.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
