package bridge

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML checker walks a parsed document alongside the Go type it will be
// decoded into. yaml.v3's own errors name a line but not the key, and for an
// unknown key only the Go type; users edit keys, so the checker reports
// "line: key.path: problem; what to do".

var (
	configType        = reflect.TypeFor[Config]()
	durationType      = reflect.TypeFor[time.Duration]()
	yamlUnmarshaler   = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	maxReportedErrors = 20
)

// checkNode returns the problems of n as a value of type t at key path.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // null keeps the value (and so the default)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isLeaf(t) {
		return checkLeaf(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []error{nodeErr(n, path, "expected a mapping of keys (%s), got %s", strings.Join(structKeys(t), ", "), describe(n))}
		}
		return checkStruct(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []error{nodeErr(n, path, "expected a list, got %s", describe(n))}
		}
		var errs []error
		for i, e := range n.Content {
			errs = append(errs, checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []error{nodeErr(n, path, "expected a mapping, got %s", describe(n))}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			errs = append(errs, checkLeaf(k, t.Key(), join(path, k.Value))...)
			errs = append(errs, checkNode(v, t.Elem(), join(path, k.Value))...)
		}
		return errs
	default:
		return checkLeaf(n, t, path)
	}
}

func checkStruct(n *yaml.Node, t reflect.Type, path string) []error {
	fields := structFields(t)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			errs = append(errs, checkNode(v, t, path)...)
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := suggest(k.Value, structKeys(t)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			msg += " (known keys: " + strings.Join(structKeys(t), ", ") + ")"
			errs = append(errs, nodeErr(k, join(path, k.Value), "%s", msg))
			continue
		}
		errs = append(errs, checkNode(v, ft, join(path, k.Value))...)
		if len(errs) >= maxReportedErrors {
			break
		}
	}
	return errs
}

// checkLeaf decodes n into a fresh value of t, as yaml.v3 will later.
func checkLeaf(n *yaml.Node, t reflect.Type, path string) []error {
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return []error{nodeErr(n, path, "cannot use %s as %s", describe(n), want(t))}
	}
	return nil
}

func isLeaf(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t == durationType || p.Implements(yamlUnmarshaler) || p.Implements(textUnmarshaler)
}

// structFields maps each YAML key of t to its field type, following yaml.v3's
// naming: the tag's name, else the lower-cased field name; ",inline" lifts
// the keys of an embedded struct.
func structFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline, ok := yamlKey(f)
		if !ok {
			continue
		}
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					m[k] = v
				}
			}
			continue
		}
		m[name] = f.Type
	}
	return m
}

// yamlKey returns the YAML key of f as yaml.v3 names it (the tag's name,
// else the lower-cased field name), whether it is inlined, and false for a
// field yaml.v3 skips.
func yamlKey(f reflect.StructField) (name string, inline, ok bool) {
	tag := f.Tag.Get("yaml")
	if !f.IsExported() || tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, strings.Contains(","+opts+",", ",inline,"), true
}

func structKeys(t reflect.Type) []string {
	fields := structFields(t)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nodeErr(n *yaml.Node, path, format string, args ...any) error {
	return fmt.Errorf("%d: %s: %s", n.Line, path, fmt.Sprintf(format, args...))
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// want says in words what a value of t looks like in YAML.
func want(t reflect.Type) string {
	if t == durationType {
		return `a duration; write it like "25s", "10m" or "1h30m"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean; write true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(want(t.Elem()), "a ")
	case reflect.Map:
		return "a mapping"
	default:
		return t.String()
	}
}

// suggest returns the known key closest to key when it is a plausible typo:
// at most one edit per three bytes of key.
func suggest(key string, known []string) string {
	best, bestD := "", max(1, len(key)/3)+1
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
