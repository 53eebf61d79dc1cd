package wire

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqlive/mqlive/devices"
)

// AppendReading appends r as JSON to dst: the bytes json.Marshal(r) gives,
// without reflection, so that a Reading published costs a fraction of
// what encoding/json takes (FuzzAppendReading holds the two equal). A
// Reading encoding/json refuses (a time outside RFC 3339, a metric that
// is not a finite float64 or a bool) and one with a value of another type
// go through json.Marshal, so the error, and any other output, is its.
func AppendReading(dst []byte, r *devices.Reading) ([]byte, error) {
	out, ok := appendReading(dst, r)
	if ok {
		return out, nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return append(dst, data...), nil
}

// appendReading is AppendReading's fast path; ok is false when it cannot
// produce encoding/json's output, and dst's new bytes are then garbage.
func appendReading(dst []byte, r *devices.Reading) (_ []byte, ok bool) {
	dst = append(dst, `{"device":`...)
	dst = appendString(dst, r.Device)
	dst = append(dst, `,"family":`...)
	dst = appendString(dst, r.Family)
	if r.Online != nil {
		dst = append(dst, `,"online":`...)
		dst = strconv.AppendBool(dst, *r.Online)
	}
	dst = append(dst, `,"ts":`...)
	if dst, ok = appendTime(dst, r.TS); !ok {
		return dst, false
	}
	dst = append(dst, `,"received_at":`...)
	if dst, ok = appendTime(dst, r.ReceivedAt); !ok {
		return dst, false
	}
	if len(r.Metrics) > 0 {
		dst = append(dst, `,"metrics":{`...)
		var buf [32]metric
		ms := buf[:0]
		for k, v := range r.Metrics {
			ms = append(ms, metric{k, v})
		}
		slices.SortFunc(ms, func(a, b metric) int { return strings.Compare(a.k, b.k) })
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.k)
			dst = append(dst, ':')
			switch v := m.v.(type) {
			case float64:
				if dst, ok = appendFloat(dst, v); !ok {
					return dst, false
				}
			case bool:
				dst = strconv.AppendBool(dst, v)
			default:
				return dst, false
			}
		}
		dst = append(dst, '}')
	}
	if len(r.Attrs) > 0 {
		dst = append(dst, `,"attrs":`...)
		dst = appendStringMap(dst, r.Attrs)
	}
	if len(r.Tags) > 0 {
		dst = append(dst, `,"tags":`...)
		dst = appendStringMap(dst, r.Tags)
	}
	dst = append(dst, `,"stale":`...)
	dst = strconv.AppendBool(dst, r.Stale)
	return append(dst, '}'), true
}

// metric is a metric's name and value, sorted in encoding/json's order
// (bytewise by name) without a second lookup in the map.
type metric struct {
	k string
	v any
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	dst = append(dst, '{')
	var buf [32][2]string
	kv := buf[:0]
	for k, v := range m {
		kv = append(kv, [2]string{k, v})
	}
	slices.SortFunc(kv, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for i, e := range kv {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e[0])
		dst = append(dst, ':')
		dst = appendString(dst, e[1])
	}
	return append(dst, '}')
}

// appendTime is time.Time's MarshalJSON: RFC 3339 with nanoseconds, and
// not ok where MarshalJSON fails (a year outside 0..9999, a zone offset
// of 24 hours or more).
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	b := dst[n0+1:]
	if len(b) < len("2006-01-02T15:04:05Z") || b[4] != '-' {
		return dst, false
	}
	if b[len(b)-1] != 'Z' {
		c := b[len(b)-len("Z07:00")]
		h := b[len(b)-len("07:00"):]
		if ('0' <= c && c <= '9') || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return dst, false
		}
	}
	return append(dst, '"'), true
}

// appendFloat is encoding/json's float64 encoding (ES6 number to string);
// not ok for NaN and infinities, which JSON cannot carry.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding with HTML escaping (its
// default): ", \ and control characters escaped, <, > and & as \u003c,
// \u003e and \u0026, U+2028 and U+2029 escaped for JavaScript, and each
// byte of invalid UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
