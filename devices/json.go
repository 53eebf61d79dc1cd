package devices

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JSONConfig configures the json family: devices that publish one JSON
// document per topic, described in the config file instead of in Go.
//
//	json:
//	  name: plant_sensors
//	  pattern: "sensors/{device}/state"
//	  fields: {temperature: "env.temp_c", humidity: "env.rh"}
type JSONConfig struct {
	// Name is the family id ([a-z0-9_], 1..64 bytes). Empty means "json".
	// Two json sources with different formats need different names.
	Name string `yaml:"name" json:"name,omitempty"`
	// Pattern is the state topic relative to the source's base: levels
	// separated by '/', exactly one of them "{device}", the others literal
	// or "+". Required.
	Pattern string `yaml:"pattern" json:"pattern,omitempty"`
	// Fields maps a metric name (READINGS.md) to a dotted path in the
	// payload ("env.temp_c"; a numeric segment indexes an array; "$" is the
	// whole payload, for bare values such as "21.5"). Numbers and booleans
	// become metrics; "ON"/"OFF" and numeric strings are read as such; other
	// strings become attrs under the metric name. Empty means every
	// top-level number and boolean passes through under its snake_case
	// name, and top-level strings become attrs.
	Fields map[string]string `yaml:"fields" json:"fields,omitempty"`
	// Attrs maps an attr name to a dotted path; the value is kept as text.
	Attrs map[string]string `yaml:"attrs" json:"attrs,omitempty"`
	// Units gives the unit a metric is sent in when it is not the canonical
	// one (temperature: F, voltage: mV, energy: Wh, pressure: Pa, …); the
	// value is converted. Empty means every metric is in canonical units.
	Units map[string]string `yaml:"units" json:"units,omitempty"`
	// Timestamp is the dotted path of the device's own time (RFC 3339, ISO
	// 8601 without zone read as UTC, or Unix seconds / milliseconds). Empty
	// means the receive time.
	Timestamp string `yaml:"timestamp" json:"timestamp,omitempty"`
	// DeviceField is the dotted path of an in-payload device id. When
	// present and different from the topic's device, the message is
	// rejected (identity_mismatch). Empty means no check.
	DeviceField string `yaml:"device_field" json:"device_field,omitempty"`
	// Availability describes an online/offline topic. Nil means none.
	Availability *JSONAvailability `yaml:"availability" json:"availability,omitempty"`
	// StaleAfter marks a device stale after this long without a message.
	// Zero means 15 minutes.
	StaleAfter time.Duration `yaml:"stale_after" json:"stale_after,omitempty"`
}

// JSONAvailability describes a json family's availability messages.
type JSONAvailability struct {
	// Pattern is the availability topic, with the rules of
	// JSONConfig.Pattern; it must not overlap the state pattern. Required.
	Pattern string `yaml:"pattern" json:"pattern,omitempty"`
	// Online is the payload (or field value) meaning online. Empty means
	// "online".
	Online string `yaml:"online" json:"online,omitempty"`
	// Offline is the payload (or field value) meaning offline. Empty means
	// "offline".
	Offline string `yaml:"offline" json:"offline,omitempty"`
	// Field is a dotted path when the payload is a JSON object. Empty
	// means the whole payload is the plain text value.
	Field string `yaml:"field" json:"field,omitempty"`
}

// JSON is the configurable family. Create it with NewJSON; it is immutable
// and safe for concurrent use.
type JSON struct {
	cfg    JSONConfig
	state  topicPattern
	avail  *topicPattern
	fields []jsonPath // sorted by name
	attrs  []jsonPath
	ts     []string
	devID  []string
	whole  bool // a field uses "$"
}

var (
	_ Handler = (*JSON)(nil)
	_ Sampler = (*JSON)(nil)
	_ Staler  = (*JSON)(nil)
)

type jsonPath struct {
	name string
	path []string // nil for "$"
}

// topicPattern is a JSONConfig pattern, split into levels.
type topicPattern struct {
	levels []string
	device int
}

// NewJSON checks cfg and applies its defaults.
func NewJSON(cfg JSONConfig) (*JSON, error) {
	if cfg.Name == "" {
		cfg.Name = "json"
	}
	if err := ValidFamily(cfg.Name); err != nil {
		return nil, fmt.Errorf("json family: name: %w", err)
	}
	j := &JSON{cfg: cfg}
	var err error
	if j.state, err = parsePattern(cfg.Pattern); err != nil {
		return nil, fmt.Errorf("json family %s: pattern: %w", cfg.Name, err)
	}
	if a := cfg.Availability; a != nil {
		p, err := parsePattern(a.Pattern)
		if err != nil {
			return nil, fmt.Errorf("json family %s: availability pattern: %w", cfg.Name, err)
		}
		if Overlap(j.state.filter(""), p.filter("")) {
			return nil, fmt.Errorf("json family %s: availability pattern %q overlaps pattern %q", cfg.Name, a.Pattern, cfg.Pattern)
		}
		j.avail = &p
		av := *a // the caller's config is never modified
		if av.Online == "" {
			av.Online = "online"
		}
		if av.Offline == "" {
			av.Offline = "offline"
		}
		if av.Online == av.Offline {
			return nil, fmt.Errorf("json family %s: availability online and offline are both %q", cfg.Name, av.Online)
		}
		j.cfg.Availability = &av
		if a.Field != "" {
			if _, err := parsePath(a.Field); err != nil {
				return nil, fmt.Errorf("json family %s: availability field: %w", cfg.Name, err)
			}
		}
	}
	for name, p := range cfg.Fields {
		if err := validMetricName(name); err != nil {
			return nil, fmt.Errorf("json family %s: fields: %w", cfg.Name, err)
		}
		path, err := parsePath(p)
		if err != nil {
			return nil, fmt.Errorf("json family %s: fields.%s: %w", cfg.Name, name, err)
		}
		j.whole = j.whole || path == nil
		j.fields = append(j.fields, jsonPath{name, path})
	}
	for name, p := range cfg.Attrs {
		if err := validMetricName(name); err != nil {
			return nil, fmt.Errorf("json family %s: attrs: %w", cfg.Name, err)
		}
		path, err := parsePath(p)
		if err != nil {
			return nil, fmt.Errorf("json family %s: attrs.%s: %w", cfg.Name, name, err)
		}
		j.whole = j.whole || path == nil
		j.attrs = append(j.attrs, jsonPath{name, path})
	}
	sort.Slice(j.fields, func(a, b int) bool { return j.fields[a].name < j.fields[b].name })
	sort.Slice(j.attrs, func(a, b int) bool { return j.attrs[a].name < j.attrs[b].name })
	for metric, unit := range cfg.Units {
		if _, ok := toCanonical(1, unit); !ok {
			return nil, fmt.Errorf("json family %s: units.%s: unknown unit %q", cfg.Name, metric, unit)
		}
	}
	if cfg.Timestamp != "" {
		if j.ts, err = parsePath(cfg.Timestamp); err != nil || j.ts == nil {
			return nil, fmt.Errorf("json family %s: timestamp: want a field path, have %q", cfg.Name, cfg.Timestamp)
		}
	}
	if cfg.DeviceField != "" {
		if j.devID, err = parsePath(cfg.DeviceField); err != nil || j.devID == nil {
			return nil, fmt.Errorf("json family %s: device_field: want a field path, have %q", cfg.Name, cfg.DeviceField)
		}
	}
	if cfg.StaleAfter < 0 {
		return nil, fmt.Errorf("json family %s: stale_after is negative", cfg.Name)
	}
	return j, nil
}

func parsePattern(p string) (topicPattern, error) {
	if p == "" {
		return topicPattern{}, fmt.Errorf("empty")
	}
	tp := topicPattern{levels: strings.Split(p, "/"), device: -1}
	for i, l := range tp.levels {
		switch {
		case l == "{device}":
			if tp.device >= 0 {
				return topicPattern{}, fmt.Errorf("%q has more than one {device} level", p)
			}
			tp.device = i
		case l == "+":
		case strings.ContainsAny(l, "+#{}"):
			return topicPattern{}, fmt.Errorf("%q: level %q must be literal, \"+\" or \"{device}\"", p, l)
		}
	}
	if tp.device < 0 {
		return topicPattern{}, fmt.Errorf("%q has no {device} level", p)
	}
	if err := ValidFilter(tp.filter("")); err != nil {
		return topicPattern{}, err
	}
	return tp, nil
}

func (tp topicPattern) filter(base string) string {
	levels := append([]string(nil), tp.levels...)
	levels[tp.device] = "+"
	return JoinBase(base, strings.Join(levels, "/"))
}

// match returns the device level of rest when rest matches the pattern.
func (tp topicPattern) match(rest string) (device string, ok bool) {
	for i, want := range tp.levels {
		level, next, more := cutLevel(rest)
		if more != (i < len(tp.levels)-1) {
			return "", false
		}
		switch {
		case i == tp.device:
			device = level
		case want != "+" && want != level:
			return "", false
		}
		rest = next
	}
	return device, true
}

func (tp topicPattern) topic(base, device string) string {
	levels := append([]string(nil), tp.levels...)
	for i, l := range levels {
		if l == "+" {
			levels[i] = "sim"
		}
	}
	levels[tp.device] = device
	return JoinBase(base, strings.Join(levels, "/"))
}

// parsePath splits a dotted path; "$" (the whole payload) is nil.
func parsePath(p string) ([]string, error) {
	if p == "$" {
		return nil, nil
	}
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
	}
	return segs, nil
}

func validMetricName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("name %q: want 1..%d bytes", name, MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strings.IndexByte("_.:-", c) >= 0) {
			return fmt.Errorf("name %q: byte %q is not in [a-z0-9_.:-]", name, c)
		}
	}
	return nil
}

// resolve follows path through decoded JSON.
func resolve(v any, path []string) (any, bool) {
	for _, seg := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Family implements Handler.
func (j *JSON) Family() string { return j.cfg.Name }

// DefaultBase implements Handler: json sources always name their base.
func (j *JSON) DefaultBase() string { return "" }

// Config returns the configuration with defaults applied.
func (j *JSON) Config() JSONConfig { return j.cfg }

// Filters implements Handler.
func (j *JSON) Filters(base string) []string {
	fs := []string{j.state.filter(base)}
	if j.avail != nil {
		fs = append(fs, j.avail.filter(base))
	}
	return fs
}

// StaleAfter implements Staler.
func (j *JSON) StaleAfter() time.Duration {
	if j.cfg.StaleAfter == 0 {
		return 15 * time.Minute
	}
	return j.cfg.StaleAfter
}

// Decode implements Handler.
func (j *JSON) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	if j.avail != nil {
		if device, ok := j.avail.match(rest); ok {
			return j.availability(device, m)
		}
	}
	device, ok := j.state.match(rest)
	if !ok || device == "" {
		return nil, Reject(ReasonInvalidTopic, "topic %q does not match %q", m.Topic, j.cfg.Pattern)
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained message [MQTT-3.3.1-10]
	}
	root, err := decodeValue(m.Payload)
	if err != nil {
		return nil, err
	}
	obj, isObj := root.(map[string]any)
	if !isObj && !j.whole {
		return nil, Reject(ReasonInvalidPayload, "payload is not a JSON object")
	}
	r := newReading(j.cfg.Name, device, m)
	if j.devID != nil {
		if v, ok := resolve(root, j.devID); ok && v != nil {
			if id := scalarText(v); id != device {
				return nil, Reject(ReasonIdentityMismatch, "payload names device %.64q, topic %.64q", id, device)
			}
		}
	}
	if j.ts != nil {
		if v, ok := resolve(root, j.ts); ok {
			if t, ok := parseDeviceTime(v); ok {
				r.TS = t
			}
		}
	}
	if len(j.fields) == 0 {
		err = j.passThrough(&r, obj)
	} else {
		err = j.mapped(&r, root)
	}
	if err != nil {
		return nil, err
	}
	for _, a := range j.attrs {
		if v, ok := resolve(root, a.path); ok && v != nil {
			if err := setAttr(&r, a.name, scalarText(v)); err != nil {
				return nil, err
			}
		}
	}
	return []Reading{r}, nil
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (j *JSON) metric(r *Reading, name string, f float64) error {
	if unit, ok := j.cfg.Units[name]; ok {
		f, _ = toCanonical(f, unit)
	}
	return setMetric(r, name, f)
}

func (j *JSON) passThrough(r *Reading, obj map[string]any) error {
	skip := func(key string) bool {
		return (len(j.ts) == 1 && j.ts[0] == key) || (len(j.devID) == 1 && j.devID[0] == key)
	}
	for _, mb := range sortedMembers(obj) {
		if skip(mb.key) {
			continue
		}
		name := SnakeCase(mb.key)
		switch v := mb.val.(type) {
		case json.Number:
			f, err := parseNumber(v)
			if err != nil {
				return err
			}
			if err := j.metric(r, name, f); err != nil {
				return err
			}
		case bool:
			if err := setMetric(r, name, v); err != nil {
				return err
			}
		case string:
			if err := setAttr(r, name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (j *JSON) mapped(r *Reading, root any) error {
	for _, f := range j.fields {
		v, ok := resolve(root, f.path)
		if !ok {
			continue // absent metrics are not emitted
		}
		switch v := v.(type) {
		case json.Number:
			x, err := parseNumber(v)
			if err != nil {
				return err
			}
			if err := j.metric(r, f.name, x); err != nil {
				return err
			}
		case bool:
			if err := setMetric(r, f.name, v); err != nil {
				return err
			}
		case string:
			x, isNum, err := numericString(v)
			if err != nil {
				return err
			}
			if isNum {
				err = j.metric(r, f.name, x)
			} else if on, ok := parseOnOff(v); ok {
				err = setMetric(r, f.name, on)
			} else {
				err = setAttr(r, f.name, v)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (j *JSON) availability(device string, m Message) ([]Reading, error) {
	if device == "" {
		return nil, Reject(ReasonInvalidTopic, "topic %q names no device", m.Topic)
	}
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	a := j.cfg.Availability
	value := string(m.Payload)
	if a.Field != "" {
		root, err := decodeValue(m.Payload)
		if err != nil {
			return nil, err
		}
		path, _ := parsePath(a.Field)
		v, _ := resolve(root, path)
		value = scalarText(v)
	}
	var online bool
	switch value {
	case a.Online:
		online = true
	case a.Offline:
	default:
		return nil, Reject(ReasonInvalidPayload, "availability is %.40q, want %q or %q", value, a.Online, a.Offline)
	}
	r := newReading(j.cfg.Name, device, m)
	r.Online = &online
	return []Reading{r}, nil
}

// Availability implements Sampler.
func (j *JSON) Availability(base, device string, online bool) (Message, bool) {
	if j.avail == nil {
		return Message{}, false
	}
	a := j.cfg.Availability
	value := a.Offline
	if online {
		value = a.Online
	}
	payload := []byte(value)
	if a.Field != "" {
		path, _ := parsePath(a.Field)
		payload, _ = json.Marshal(setPath(nil, path, value))
	}
	return Message{Topic: j.avail.topic(base, device), Payload: payload, Retained: true}, true
}

// Sample implements Sampler: one state message with every configured field
// (or temperature and humidity when Fields is empty).
func (j *JSON) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	var root any
	fields := j.fields
	if len(fields) == 0 {
		fields = []jsonPath{{"humidity", []string{"humidity"}}, {"temperature", []string{"temperature"}}}
	}
	for _, f := range fields {
		var v any = round2(rnd.Float64() * 100)
		switch f.name {
		case "temperature":
			v = round2(18 + rnd.Float64()*8)
		case "state", "contact", "occupancy":
			v = rnd.IntN(2) == 0
		}
		root = setPath(root, f.path, v)
	}
	for _, a := range j.attrs {
		root = setPath(root, a.path, "sim")
	}
	if j.ts != nil {
		root = setPath(root, j.ts, now.UTC().Format(time.RFC3339Nano))
	}
	if j.devID != nil {
		root = setPath(root, j.devID, device)
	}
	b, _ := json.Marshal(root)
	return []Message{{Topic: j.state.topic(base, device), Payload: b, ReceivedAt: now}}
}

// setPath stores v at path below root, creating objects (and arrays for
// numeric segments) on the way.
func setPath(root any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i < 64 {
		arr, _ := root.([]any)
		for len(arr) <= i {
			arr = append(arr, nil)
		}
		arr[i] = setPath(arr[i], path[1:], v)
		return arr
	}
	obj, ok := root.(map[string]any)
	if !ok {
		obj = map[string]any{}
	}
	obj[path[0]] = setPath(obj[path[0]], path[1:], v)
	return obj
}
