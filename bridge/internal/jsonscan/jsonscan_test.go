package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestAcceptsOnlyWhatEncodingJSONReadsTheSame: every object Object takes
// is valid JSON, and its values read as encoding/json reads them; the
// rest is refused, never misread.
func TestAcceptsOnlyWhatEncodingJSONReadsTheSame(t *testing.T) {
	type value struct {
		S  string   `json:"s"`
		F  float64  `json:"f"`
		B  bool     `json:"b"`
		SS []string `json:"ss"`
	}
	read := func(b []byte) (value, bool) {
		var v value
		var seen uint32
		ok := Object(b, func(key []byte, s *Scanner) bool {
			switch string(key) {
			case "s":
				return Once(&seen, 1) && s.Str(&v.S)
			case "f":
				return Once(&seen, 2) && s.Float(&v.F)
			case "b":
				return Once(&seen, 4) && s.Bool(&v.B)
			case "ss":
				return Once(&seen, 8) && s.Strings(&v.SS)
			}
			return false
		})
		return v, ok
	}
	for text, want := range map[string]bool{
		`{}`: true,
		` { "s" : "é" , "f" : -0.5e+3 , "b" : false , "ss" : [ ] } `: true,
		`{"ss":["a","b"],"b":true,"f":0}`:                            true,
		`{"s":"a\"b"}`:                                               false, // an escape
		`{"s":"a` + "\x01" + `"}`:                                    false, // a control character
		`{"s":"` + "\xff" + `"}`:                                     false, // invalid UTF-8
		`{"f":01}`:                                                   false,
		`{"f":1.}`:                                                   false,
		`{"f":.5}`:                                                   false,
		`{"f":1e}`:                                                   false,
		`{"f":-}`:                                                    false,
		`{"f":1e400}`:                                                false, // out of float64's range
		`{"b":tru}`:                                                  false,
		`{"b":null}`:                                                 false,
		`{"ss":["a",]}`:                                              false,
		`{"ss":["a" "b"]}`:                                           false,
		`{"ss":[1]}`:                                                 false,
		`{"s":"a","s":"b"}`:                                          false, // repeated
		`{"x":1}`:                                                    false, // unknown
		`{"s":"a",}`:                                                 false,
		`{"s":"a"} {}`:                                               false,
		`{"s":"a"`:                                                   false,
		`[]`:                                                         false,
		``:                                                           false,
	} {
		got, ok := read([]byte(text))
		if ok != want {
			t.Fatalf("%q: ok %v, want %v", text, ok, want)
		}
		if !ok {
			continue
		}
		var ref value
		if err := json.Unmarshal([]byte(text), &ref); err != nil {
			t.Fatalf("%q taken but encoding/json says %v", text, err)
		}
		if got.S != ref.S || got.F != ref.F || got.B != ref.B || len(got.SS) != len(ref.SS) || (ref.SS != nil) != (got.SS != nil) {
			t.Fatalf("%q: %+v, encoding/json %+v", text, got, ref)
		}
	}
}

// TestSkipValid finds the end of each kind of value in valid JSON.
func TestSkipValid(t *testing.T) {
	for text, rest := range map[string]string{
		`"a\"b,}",1`:           `,1`,
		`{"a":[1,{"b":"]"}]}}`: `}`,
		`[1,[2,[3]]] `:         ` `,
		`-1.5e3,`:              `,`,
		`true}`:                `}`,
		`null]`:                `]`,
	} {
		s := New([]byte(text))
		s.SkipValid()
		if got := text[s.Pos():]; got != rest {
			t.Fatalf("%q: left %q, want %q", text, got, rest)
		}
	}
}
