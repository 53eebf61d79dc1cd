package devices

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// haTemplate is a parsed value_template of one of the common forms
// discovery configs use; anything else is unsupported (ok false at parse
// time) and its entity's raw value is kept as an attr:
//
//	{{ value }}                          the payload text
//	{{ value_json.a.b }}                 a member of the JSON payload
//	{{ value_json['a'] }}  {{ value_json["a"][0] }}
//	… | float  | float(0) | int | int(0) | round(n) | is_defined
type haTemplate struct {
	json    bool     // value_json rather than value
	path    []string // object keys; array indexes as decimal text
	index   []bool   // path[i] is an array index
	toFloat bool
	toInt   bool
	round   int // digits, or -1
}

// key is the last object key of the path (a good metric name), or "".
func (t haTemplate) key() string {
	for i := len(t.path) - 1; i >= 0; i-- {
		if !t.index[i] {
			return t.path[i]
		}
	}
	return ""
}

func parseHATemplate(s string) (haTemplate, bool) {
	t := haTemplate{round: -1}
	s = strings.TrimSpace(s)
	if s == "" {
		return t, true // no template: the payload itself
	}
	if !strings.HasPrefix(s, "{{") || !strings.HasSuffix(s, "}}") || len(s) < 4 {
		return t, false
	}
	parts := strings.Split(s[2:len(s)-2], "|")
	expr := strings.TrimSpace(parts[0])
	switch {
	case expr == "value":
	case strings.HasPrefix(expr, "value_json"):
		t.json = true
		if !t.parsePath(expr[len("value_json"):]) {
			return t, false
		}
	default:
		return t, false
	}
	for _, f := range parts[1:] {
		f = strings.TrimSpace(f)
		name, arg, hasArg := strings.Cut(f, "(")
		if hasArg {
			if !strings.HasSuffix(arg, ")") {
				return t, false
			}
			arg = strings.TrimSpace(arg[:len(arg)-1])
		}
		switch strings.TrimSpace(name) {
		case "float":
			t.toFloat = true // a default argument changes nothing for a number
		case "int":
			t.toInt = true
		case "round":
			n, err := strconv.Atoi(strings.TrimSpace(strings.Split(arg, ",")[0]))
			if !hasArg || err != nil || n < 0 || n > 12 {
				return t, false
			}
			t.round = n
		case "is_defined":
			if hasArg {
				return t, false
			}
		default:
			return t, false
		}
	}
	return t, true
}

// parsePath reads .name, ['name'], ["name"] and [n] segments.
func (t *haTemplate) parsePath(p string) bool {
	for p = strings.TrimSpace(p); p != ""; {
		switch p[0] {
		case '.':
			p = p[1:]
			n := 0
			for n < len(p) && (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')) {
				n++
			}
			if n == 0 {
				return false
			}
			t.path, t.index = append(t.path, p[:n]), append(t.index, false)
			p = p[n:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return false
			}
			in := strings.TrimSpace(p[1:end])
			switch {
			case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				t.path, t.index = append(t.path, in[1:len(in)-1]), append(t.index, false)
			default:
				if _, err := strconv.Atoi(in); err != nil {
					return false
				}
				t.path, t.index = append(t.path, in), append(t.index, true)
			}
			p = p[end+1:]
		default:
			return false
		}
		p = strings.TrimLeft(p, " ")
	}
	return len(t.path) > 0
}

// eval applies the template to a payload: raw is its text, doc its decoded
// JSON (nil when not JSON). ok is false when the value is undefined (a
// missing member), as Home Assistant then leaves the entity unchanged.
func (t haTemplate) eval(raw string, doc any) (any, bool) {
	var v any = raw
	if t.json {
		v = doc
		for i, k := range t.path {
			switch c := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = c[k]; !ok {
					return nil, false
				}
			case []any:
				n, _ := strconv.Atoi(k)
				if !t.index[i] || n < 0 || n >= len(c) {
					return nil, false
				}
				v = c[n]
			default:
				return nil, false
			}
		}
	}
	if !t.toFloat && !t.toInt && t.round < 0 {
		return v, v != nil
	}
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = parseNumber(x); err != nil {
			return nil, false
		}
	case string:
		n, isNum, err := numericString(strings.TrimSpace(x))
		if !isNum || err != nil {
			return nil, false // float/int without a default fails on text
		}
		f = n
	case bool:
		if x {
			f = 1
		}
	default:
		return nil, false
	}
	if t.toInt {
		f = math.Trunc(f)
	}
	if t.round >= 0 {
		p := math.Pow(10, float64(t.round))
		if r := math.Round(f*p) / p; !math.IsInf(r, 0) && !math.IsNaN(r) {
			f = r
		}
	}
	return f, true
}
