//go:build !js

package client

import (
	"encoding/json"
	"sort"
)

// StdCodec is the native Codec on encoding/json, for Go programs and tests.
// The WebAssembly build uses the browser's JSON object instead (WASM.md §1),
// which is why this file is excluded there.
type StdCodec struct{}

var _ Codec = StdCodec{}

// Parse implements Codec.
func (StdCodec) Parse(text string) (Value, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return StdValue{V: v, Present: true}, nil
}

// Stringify implements Codec. It accepts a StdValue or, via Wrap, any Go
// value encoding/json can marshal.
func (StdCodec) Stringify(v Value) (string, error) {
	var x any
	if sv, ok := v.(StdValue); ok {
		x = sv.V
	}
	b, err := json.Marshal(x)
	return string(b), err
}

// Wrap makes a Value of any Go value encoding/json can marshal, e.g. the
// data of a publish.
func Wrap(v any) Value { return StdValue{V: v, Present: true} }

// StdValue is the Value of StdCodec: what encoding/json decodes into any.
type StdValue struct {
	V       any
	Present bool
}

// Kind implements Value.
func (v StdValue) Kind() Kind {
	if !v.Present {
		return Missing
	}
	switch v.V.(type) {
	case nil:
		return Null
	case bool:
		return Bool
	case float64, float32, int, int64:
		return Number
	case string:
		return String
	case []any:
		return Array
	case map[string]any:
		return Object
	}
	return Missing
}

// Get implements Value.
func (v StdValue) Get(key string) Value {
	m, _ := v.V.(map[string]any)
	x, ok := m[key]
	return StdValue{V: x, Present: ok}
}

// Index implements Value.
func (v StdValue) Index(i int) Value {
	a, _ := v.V.([]any)
	if i < 0 || i >= len(a) {
		return StdValue{}
	}
	return StdValue{V: a[i], Present: true}
}

// Len implements Value.
func (v StdValue) Len() int { a, _ := v.V.([]any); return len(a) }

// Keys implements Value; the keys are sorted for determinism.
func (v StdValue) Keys() []string {
	m, ok := v.V.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Str implements Value.
func (v StdValue) Str() string { s, _ := v.V.(string); return s }

// Float implements Value.
func (v StdValue) Float() float64 {
	switch x := v.V.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// Truth implements Value.
func (v StdValue) Truth() bool { b, _ := v.V.(bool); return b }
