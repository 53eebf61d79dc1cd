package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Limits on what one message may cost a decoder. Real device status is
// small (a Tasmota SENSOR with 18 DS18B20 probes is under 2 KiB; Tasmota's
// own MQTT buffer is 1 KiB by default), so these are far above real traffic
// and far below what would let one message hurt a node.
const (
	// MaxPayload is the largest payload decoders accept (ReasonTooLarge).
	MaxPayload = 256 << 10
	// MaxDepth is the deepest JSON nesting decoders accept (ReasonTooDeep).
	MaxDepth = 32
	// MaxFields bounds metrics plus attrs of one Reading (ReasonTooLarge).
	MaxFields = 1024
	// MaxNameLen bounds a metric or attr name (ReasonInvalidPayload).
	MaxNameLen = 256
)

// CheckPayload rejects a payload no decoder should parse: larger than
// MaxPayload, not valid UTF-8 (RFC 8259 §8.1 requires UTF-8 for JSON
// exchanged between systems), or nested deeper than MaxDepth. It runs in one
// pass without allocating and never recurses, so a 10,000-deep array costs
// no more than any other 10 KB payload.
func CheckPayload(p []byte) error {
	if len(p) > MaxPayload {
		return Reject(ReasonTooLarge, "payload is %d bytes, limit %d", len(p), MaxPayload)
	}
	if !utf8.Valid(p) {
		return Reject(ReasonInvalidUTF8, "payload is not valid UTF-8")
	}
	if jsonTooDeep(p) {
		return Reject(ReasonTooDeep, "JSON nesting deeper than %d", MaxDepth)
	}
	return nil
}

// jsonTooDeep scans p as JSON text, counting open objects and arrays outside
// strings. It does not validate syntax (json.Decoder does that afterwards);
// it only guarantees that the decoder will never see deep nesting.
func jsonTooDeep(p []byte) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range p {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// member is one key of a JSON object, in payload order. Tasmota gives
// meaning to order ("the first probe is the primary one"), so top-level
// objects keep it; nested values are plain maps.
type member struct {
	key string
	val any // nil, bool, string, json.Number, []any, map[string]any
}

// decodeObject checks p and decodes it as one JSON object, keeping the
// order of its top-level keys. Numbers stay json.Number so that a value out
// of float64 range is reported as ReasonInvalidNumber where it is used,
// rather than as a generic syntax error.
func decodeObject(p []byte) ([]member, error) {
	if err := CheckPayload(p); err != nil {
		return nil, err
	}
	if !json.Valid(p) {
		return decodeObjectSlow(p) // encoding/json's error
	}
	obj, ok, err := parseValidObject(p)
	if err != nil {
		return nil, err
	}
	if !ok {
		v, err := parseValid(p)
		if err != nil {
			return nil, err
		}
		return nil, Reject(ReasonInvalidPayload, "payload is a JSON %s, want an object", jsonKind(v))
	}
	return obj, nil
}

// decodeObjectSlow is decodeObject through encoding/json alone: the
// reference the fast path is held to (FuzzDecodeValue), and the path of
// malformed payloads, whose error is encoding/json's.
func decodeObjectSlow(p []byte) ([]member, error) {
	v, err := decodeValueSlow(p)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Reject(ReasonInvalidPayload, "payload is a JSON %s, want an object", jsonKind(v))
	}
	// encoding/json's map decoding is several times faster than its Token
	// API; the key order is recovered by a second, allocation-light scan.
	keys := topLevelKeys(p, len(m))
	obj := make([]member, 0, len(m))
	for _, k := range keys {
		if val, ok := m[k]; ok {
			obj = append(obj, member{key: k, val: val})
			delete(m, k) // a repeated key keeps its first position, last value
		}
	}
	return obj, nil
}

// topLevelKeys returns the keys of the JSON object p in order. p has been
// decoded successfully, so it is well-formed.
func topLevelKeys(p []byte, n int) []string {
	keys := make([]string, 0, n)
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			start := i
			escaped := false
			for i++; i < len(p); i++ {
				if p[i] == '\\' {
					i++
					escaped = true
				} else if p[i] == '"' {
					break
				}
			}
			if depth != 1 {
				continue
			}
			j := i + 1
			for j < len(p) && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r') {
				j++
			}
			if j >= len(p) || p[j] != ':' {
				continue // a string value, not a key
			}
			if !escaped {
				keys = append(keys, string(p[start+1:i]))
				continue
			}
			var k string
			if json.Unmarshal(p[start:i+1], &k) == nil {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// decodeValue checks p and decodes it as any single JSON value. Well-formed
// JSON (json.Valid, one fast scan) is decoded by jsonParser in one more
// pass; anything else goes to encoding/json's Decoder, so that the error
// reported is its own.
func decodeValue(p []byte) (any, error) {
	if err := CheckPayload(p); err != nil {
		return nil, err
	}
	if !json.Valid(p) {
		return decodeValueSlow(p)
	}
	return parseValid(p)
}

// decodeValueSlow is decodeValue through encoding/json alone (see
// decodeObjectSlow).
func decodeValueSlow(p []byte) (any, error) {
	if err := CheckPayload(p); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Reject(ReasonInvalidJSON, "data after the JSON value")
	}
	if err := checkNumbers(v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkNumbers rejects a payload with any number outside float64, used or
// not: such a payload is malformed as a whole, and rejecting it everywhere
// keeps the verdict independent of which fields a family maps. Recursion is
// bounded by MaxDepth (CheckPayload ran first).
func checkNumbers(v any) error {
	switch v := v.(type) {
	case json.Number:
		_, err := parseNumber(v)
		return err
	case []any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Reject(ReasonInvalidJSON, "truncated JSON")
	}
	return Reject(ReasonInvalidJSON, "%v", err)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return "null"
	}
}

// lookup returns the value of key in obj (the last one if repeated, as
// encoding/json does).
func lookup(obj []member, key string) (any, bool) {
	for i := len(obj) - 1; i >= 0; i-- {
		if obj[i].key == key {
			return obj[i].val, true
		}
	}
	return nil, false
}

// parseNumber converts a JSON number. JSON has no NaN or infinities, but a
// literal such as 1e400 is valid JSON outside float64's range.
func parseNumber(n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, Reject(ReasonInvalidNumber, "number %.40q is not a finite float64", string(n))
	}
	return f, nil
}

// numericString parses a number sent as a string ("battery":"100.00" in
// old Zigbee2MQTT releases). ok is false for text that is not a number; an
// error means it was a number but not a finite float64 ("NaN", "1e400").
func numericString(s string) (f float64, ok bool, err error) {
	if s == "" || len(s) > 64 {
		return 0, false, nil
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil && !errors.Is(perr, strconv.ErrRange) {
		return 0, false, nil
	}
	if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, Reject(ReasonInvalidNumber, "number %.40q is not a finite float64", s)
	}
	return f, true, nil
}

// newReading starts a Reading for device with TS = ReceivedAt; decoders
// replace TS when the payload carries the device's own time.
func newReading(family, device string, m Message) Reading {
	return Reading{Device: device, Family: family, TS: m.ReceivedAt, ReceivedAt: m.ReceivedAt}
}

func checkName(r *Reading, name string) error {
	if name == "" || len(name) > MaxNameLen {
		return Reject(ReasonInvalidPayload, "field name of %d bytes (want 1..%d)", len(name), MaxNameLen)
	}
	if len(r.Metrics)+len(r.Attrs) >= MaxFields {
		return Reject(ReasonTooLarge, "more than %d fields", MaxFields)
	}
	return nil
}

// setMetric stores a float64 or bool. Non-finite floats are refused here as
// a last line of defence: READINGS.md promises finite values.
func setMetric(r *Reading, name string, v any) error {
	if err := checkName(r, name); err != nil {
		return err
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return Reject(ReasonInvalidNumber, "metric %s is not finite", name)
	}
	if r.Metrics == nil {
		r.Metrics = make(map[string]any, 16) // typical status: under 16 metrics, one allocation
	}
	r.Metrics[name] = v
	return nil
}

func setAttr(r *Reading, name, v string) error {
	if err := checkName(r, name); err != nil {
		return err
	}
	if r.Attrs == nil {
		r.Attrs = make(map[string]string)
	}
	r.Attrs[name] = v
	return nil
}

// hasField reports whether a metric or attr name is already taken.
func hasField(r *Reading, name string) bool {
	if _, ok := r.Metrics[name]; ok {
		return true
	}
	_, ok := r.Attrs[name]
	return ok
}

// flatten stores a decoded JSON value under name: numbers and booleans as
// metrics, strings as attrs, objects recursively as "name.key" with keys in
// snake_case. Arrays and nulls are skipped: an array position means nothing
// stable across devices, and null means "no value" (the metric is absent).
func flatten(r *Reading, name string, v any) error {
	switch v := v.(type) {
	case json.Number:
		f, err := parseNumber(v)
		if err != nil {
			return err
		}
		return setMetric(r, name, f)
	case bool:
		return setMetric(r, name, v)
	case string:
		return setAttr(r, name, v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic: the first error is always the same
		for _, k := range keys {
			if err := flatten(r, name+"."+SnakeCase(k), v[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
