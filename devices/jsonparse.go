package devices

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// jsonParser decodes JSON text that json.Valid has accepted into the values
// encoding/json's Decoder gives with UseNumber (nil, bool, string,
// json.Number, []any, map[string]any), in one pass and without
// reflection; a top-level object can come back as members in payload
// order, so that decodeObject needs neither the map nor a second scan for
// the order. It never sees malformed text (decodeValue sends that to
// encoding/json, whose errors are the ones reported), so it checks no
// grammar. Numbers are checked afterwards (checkNumbers) on what was kept:
// a value a repeated key replaced does not count, as with encoding/json.
// FuzzDecodeValue holds it to the Decoder.
type jsonParser struct {
	p []byte
	i int
}

func (ps *jsonParser) skipSpace() {
	for ps.i < len(ps.p) {
		switch ps.p[ps.i] {
		case ' ', '\t', '\n', '\r':
			ps.i++
		default:
			return
		}
	}
}

// value decodes the value at ps.i (after any space).
func (ps *jsonParser) value() any {
	ps.skipSpace()
	switch c := ps.p[ps.i]; c {
	case '{':
		return ps.object()
	case '[':
		return ps.array()
	case '"':
		return ps.str()
	case 't':
		ps.i += len("true")
		return true
	case 'f':
		ps.i += len("false")
		return false
	case 'n':
		ps.i += len("null")
		return nil
	default:
		return ps.number()
	}
}

// object decodes an object as a map; a repeated key keeps its last value.
func (ps *jsonParser) object() any {
	m := map[string]any{}
	ps.eachMember(func(k string, v any) { m[k] = v })
	return m
}

// members decodes the object at ps.i as members in payload order; a
// repeated key keeps its first position and its last value, as the map
// and the key scan of decodeObject did.
func (ps *jsonParser) members() []member {
	// A device's status has a handful of keys: one allocation instead of
	// the four that growing from nothing to eight takes.
	obj := make([]member, 0, 8)
	var index map[string]int // past a few keys, a linear search is too slow
	ps.eachMember(func(k string, v any) {
		if index != nil {
			if j, ok := index[k]; ok {
				obj[j].val = v
				return
			}
			index[k] = len(obj)
		} else {
			for j := range obj {
				if obj[j].key == k {
					obj[j].val = v
					return
				}
			}
			if len(obj) == 16 {
				index = make(map[string]int, 32)
				for j := range obj {
					index[obj[j].key] = j
				}
				index[k] = len(obj)
			}
		}
		obj = append(obj, member{key: k, val: v})
	})
	return obj
}

// eachMember walks the object at ps.i (after any space), calling set for
// every member.
func (ps *jsonParser) eachMember(set func(k string, v any)) {
	ps.skipSpace()
	ps.i++ // {
	ps.skipSpace()
	if ps.p[ps.i] == '}' {
		ps.i++
		return
	}
	for {
		ps.skipSpace()
		k := ps.key()
		ps.skipSpace()
		ps.i++ // :
		set(k, ps.value())
		ps.skipSpace()
		c := ps.p[ps.i]
		ps.i++ // , or }
		if c == '}' {
			return
		}
	}
}

func (ps *jsonParser) array() any {
	ps.i++ // [
	a := []any{}
	ps.skipSpace()
	if ps.p[ps.i] == ']' {
		ps.i++
		return a
	}
	for {
		a = append(a, ps.value())
		ps.skipSpace()
		c := ps.p[ps.i]
		ps.i++ // , or ]
		if c == ']' {
			return a
		}
	}
}

// str decodes the string at ps.i. Without escapes its bytes are the
// string (the payload is valid UTF-8: CheckPayload); with escapes
// encoding/json unquotes it, so that every rule (surrogates included) is
// its own.
func (ps *jsonParser) str() string {
	start := ps.i
	escaped := false
	for ps.i++; ; ps.i++ {
		c := ps.p[ps.i]
		if c == '\\' {
			escaped = true
			ps.i++
		} else if c == '"' {
			break
		}
	}
	ps.i++
	if !escaped {
		return string(ps.p[start+1 : ps.i-1])
	}
	var s string
	_ = json.Unmarshal(ps.p[start:ps.i], &s) // valid: json.Valid accepted it
	return s
}

// key decodes the object key at ps.i. A fleet sends the same few dozen
// keys in every message ("temperature", "battery", "linkquality"), so an
// unescaped key is looked up in keyNames first: the key's string is then
// shared instead of allocated per message.
func (ps *jsonParser) key() string {
	start := ps.i + 1
	for j := start; j < len(ps.p); j++ {
		switch ps.p[j] {
		case '"':
			if names := keyNames.m.Load(); names != nil {
				if s, ok := (*names)[string(ps.p[start:j])]; ok {
					ps.i = j + 1
					return s
				}
			}
			s := ps.str()
			keyNames.add(s)
			return s
		case '\\':
			return ps.str()
		}
	}
	return ps.str()
}

// keyNames interns object keys (jsonParser.key). It is read without a
// lock and copied on every addition, so it is bounded in count and in key
// length: payloads full of made-up keys fill it once and then just
// allocate their keys, as before.
var keyNames names

// names is a set of strings, read without a lock (see keyNames).
type names struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]string]
}

const (
	maxKeyNames   = 1024
	maxKeyNameLen = 64
)

// add interns k unless the set is full or k is long.
func (n *names) add(k string) {
	if len(k) > maxKeyNameLen {
		return
	}
	if m := n.m.Load(); m != nil && len(*m) >= maxKeyNames {
		return // full: no lock taken for every new key from now on
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.m.Load()
	if old != nil && len(*old) >= maxKeyNames {
		return
	}
	m := make(map[string]string, 1)
	if old != nil {
		if _, ok := (*old)[k]; ok {
			return
		}
		m = make(map[string]string, len(*old)+1)
		for s := range *old {
			m[s] = s
		}
	}
	m[k] = k
	n.m.Store(&m)
}

func (ps *jsonParser) number() any {
	start := ps.i
	for ps.i < len(ps.p) && numberByte(ps.p[ps.i]) {
		ps.i++
	}
	return json.Number(ps.p[start:ps.i])
}

// parseValid decodes p, which json.Valid accepted.
func parseValid(p []byte) (any, error) {
	ps := jsonParser{p: p}
	v := ps.value()
	if err := checkNumbers(v); err != nil {
		return nil, err
	}
	return v, nil
}

// parseValidObject decodes p, which json.Valid accepted; ok is false when
// p is not an object.
func parseValidObject(p []byte) (obj []member, ok bool, err error) {
	ps := jsonParser{p: p}
	ps.skipSpace()
	if ps.p[ps.i] != '{' {
		return nil, false, nil
	}
	obj = ps.members()
	for _, m := range obj {
		if err := checkNumbers(m.val); err != nil {
			return nil, true, err
		}
	}
	return obj, true, nil
}

func numberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}
