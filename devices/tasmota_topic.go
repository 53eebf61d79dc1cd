package devices

import (
	"encoding/json"
	"fmt"
	"strings"
)

// TasmotaConfig configures a tasmota source for devices set up away from
// Tasmota's defaults. The zero value is Tasmota's default set-up.
type TasmotaConfig struct {
	// FullTopic is the device's FullTopic setting, written as in Tasmota's
	// FullTopic command (https://tasmota.github.io/docs/MQTT/#mqtt-topic-definition):
	// "%prefix%/%topic%/" (the default), "tasmota/%topic%/%prefix%/",
	// "home/%prefix%/%topic%/". It must contain %prefix% and %topic%, each
	// as a whole topic level; %hostname% and %id% may be levels of their
	// own too, and become the attrs "hostname" and "mac". As Tasmota does,
	// a "//" is read as "/" and the trailing "/" is optional. Empty means
	// the default.
	FullTopic string `yaml:"full_topic" json:"full_topic,omitempty"`
	// StateText is Tasmota's StateText1..4 (the texts for off, on, toggle
	// and hold), when changed on the device: ["AUS", "AN", "UMSCHALTEN",
	// "HALTEN"]. An empty or missing entry keeps the default (OFF, ON,
	// TOGGLE, HOLD). Power states are always also read as ON/OFF and 1/0.
	StateText []string `yaml:"state_text" json:"state_text,omitempty"`
}

// tasmotaDefaultFullTopic is Tasmota's default FullTopic.
const tasmotaDefaultFullTopic = "%prefix%/%topic%/"

// FullTopic tokens (Tasmota's MQTT_TOKEN_*). Each is a whole level here.
const (
	tokPrefix   = "%prefix%"
	tokTopic    = "%topic%"
	tokHostname = "%hostname%"
	tokID       = "%id%"
)

// tasmotaFullTopic is a parsed FullTopic: its levels, literal or token,
// without the trailing "/" (the subtopic follows it).
type tasmotaFullTopic struct {
	raw     string
	levels  []string
	topicAt int // index of %topic% in levels
}

// defaultFullTopic is the parsed default; a Tasmota{} uses it.
var defaultFullTopic = mustFullTopic(tasmotaDefaultFullTopic)

func mustFullTopic(s string) *tasmotaFullTopic {
	ft, err := parseFullTopic(s)
	if err != nil {
		panic(err)
	}
	return ft
}

// parseFullTopic reads a FullTopic as Tasmota expands it (its GetTopic_P):
// tokens replaced, "//" collapsed, a trailing "/" added. Wildcards and tokens inside a level are refused: Tasmota would
// strip '#' silently, and a token inside a level cannot be told apart from
// the text around it once expanded.
func parseFullTopic(s string) (*tasmotaFullTopic, error) {
	if s == "" {
		s = tasmotaDefaultFullTopic
	}
	if err := validString("full_topic", s); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s, "+#") {
		return nil, fmt.Errorf("full_topic %q: MQTT wildcards '+' and '#' cannot be part of a FullTopic", s)
	}
	norm := s
	for strings.Contains(norm, "//") {
		norm = strings.ReplaceAll(norm, "//", "/")
	}
	norm = strings.TrimSuffix(norm, "/")
	ft := &tasmotaFullTopic{raw: s, levels: strings.Split(norm, "/"), topicAt: -1}
	seen := map[string]bool{}
	for i, l := range ft.levels {
		if !strings.Contains(l, "%") {
			continue
		}
		switch l {
		case tokPrefix, tokTopic, tokHostname, tokID:
		default:
			return nil, fmt.Errorf("full_topic %q: level %q: write each of %%prefix%%, %%topic%%, %%hostname%% and %%id%% as a whole topic level, and no other %%token%%", s, l)
		}
		if seen[l] {
			return nil, fmt.Errorf("full_topic %q: %s appears twice", s, l)
		}
		seen[l] = true
		if l == tokTopic {
			ft.topicAt = i
		}
	}
	if !seen[tokPrefix] || !seen[tokTopic] {
		return nil, fmt.Errorf("full_topic %q must contain both %%prefix%% and %%topic%% (Tasmota's default is %q)", s, tasmotaDefaultFullTopic)
	}
	if ft.levels[0] != "" && strings.HasPrefix(ft.levels[0], "$") {
		return nil, fmt.Errorf("full_topic %q: a topic starting with '$' is reserved for the broker [MQTT-4.7.2-1]", s)
	}
	return ft, nil
}

// filters subscribes everything below the fixed levels before %topic%, as
// "#": a %topic% may contain '/', so its depth is not known. %prefix%
// before %topic% gives one filter per decoded prefix.
func (ft *tasmotaFullTopic) filters(base string) []string {
	heads := []string{""}
	for _, l := range ft.levels[:ft.topicAt] {
		var alts []string
		switch l {
		case tokPrefix:
			alts = []string{"tele", "stat"}
		case tokHostname, tokID:
			alts = []string{"+"}
		default:
			alts = []string{l}
		}
		next := make([]string, 0, len(heads)*len(alts))
		for _, h := range heads {
			for _, a := range alts {
				next = append(next, h+a+"/")
			}
		}
		heads = next
	}
	fs := make([]string, len(heads))
	for i, h := range heads {
		fs[i] = JoinBase(base, h+"#")
	}
	return fs
}

// tasmotaTopic is a topic split by the FullTopic.
type tasmotaTopic struct {
	prefix, device, sub string
	hostname, id        string
}

// split splits rest (the topic below base) into prefix, %topic% and
// subtopic. The levels before %topic% are matched from the front, those
// after it and the subtopic from the back, so %topic% takes every level in
// between ("kitchen/plug"). It does not allocate.
func (ft *tasmotaFullTopic) split(rest string) (tasmotaTopic, bool) {
	var tt tasmotaTopic
	level := func(tok, l string) bool {
		switch tok {
		case tokPrefix:
			tt.prefix = l
		case tokHostname:
			tt.hostname = l
		case tokID:
			tt.id = l
		default:
			return l == tok
		}
		return l != ""
	}
	for _, tok := range ft.levels[:ft.topicAt] {
		l, r, more := cutLevel(rest)
		if !more || !level(tok, l) {
			return tt, false
		}
		rest = r
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return tt, false
	}
	rest, tt.sub = rest[:i], rest[i+1:]
	for j := len(ft.levels) - 1; j > ft.topicAt; j-- {
		i := strings.LastIndexByte(rest, '/')
		if i < 0 || !level(ft.levels[j], rest[i+1:]) {
			return tt, false
		}
		rest = rest[:i]
	}
	tt.device = rest
	return tt, rest != "" && tt.sub != ""
}

// join builds the topic of tt: its prefix, device (%topic%), subtopic and,
// when the FullTopic has them, hostname and id. ok is false when the
// FullTopic needs a %hostname% or %id% that tt does not have.
func (ft *tasmotaFullTopic) join(base string, tt tasmotaTopic) (string, bool) {
	var b strings.Builder
	for _, l := range ft.levels {
		tok := l
		switch tok {
		case tokPrefix:
			l = tt.prefix
		case tokTopic:
			l = tt.device
		case tokHostname:
			l = tt.hostname
		case tokID:
			l = tt.id
		}
		if l == "" && tok != "" {
			return "", false // a token without a value
		}
		b.WriteString(l)
		b.WriteByte('/')
	}
	b.WriteString(tt.sub)
	return JoinBase(base, b.String()), true
}

// sampleTopic is join for the simulator: a %hostname% is the device id's
// last level, an %id% a MAC derived from the device id.
func (ft *tasmotaFullTopic) sampleTopic(base, prefix, device, sub string) string {
	host := device[strings.LastIndexByte(device, '/')+1:]
	t, _ := ft.join(base, tasmotaTopic{prefix: prefix, device: device, sub: sub,
		hostname: host, id: fmt.Sprintf("%012X", uint64(shellyHash(device))<<16|0xA0)})
	return t
}

// NewTasmota returns a tasmota handler for devices configured with c.
func NewTasmota(c TasmotaConfig) (Tasmota, error) {
	ft, err := parseFullTopic(c.FullTopic)
	if err != nil {
		return Tasmota{}, err
	}
	t := Tasmota{}
	if ft.raw != tasmotaDefaultFullTopic {
		t.ft = ft
	}
	if len(c.StateText) > len(t.stateText) {
		return Tasmota{}, fmt.Errorf("state_text has %d entries; Tasmota has four (StateText1..4: off, on, toggle, hold)", len(c.StateText))
	}
	seen := map[string]int{}
	for i, s := range c.StateText {
		if s == "" {
			continue
		}
		if len(s) > 32 || strings.ContainsAny(s, "\x00\"") {
			// Tasmota's texts are short words; a quote would break the
			// JSON it puts them in.
			return Tasmota{}, fmt.Errorf("state_text[%d] %q: want 1..32 bytes without '\"'", i, s)
		}
		if j, dup := seen[s]; dup {
			return Tasmota{}, fmt.Errorf("state_text[%d] %q is also state_text[%d]; an on and an off with the same text cannot be told apart", i, s, j)
		}
		seen[s] = i
		t.stateText[i] = s
	}
	return t, nil
}

// tasmotaPowerState is what a power text says.
type tasmotaPowerState int

const (
	powerUnknown tasmotaPowerState = iota
	powerOff
	powerOn
	powerNoState // TOGGLE, HOLD: an action, not a state
)

// powerState reads a relay state: Tasmota's StateText1..4 as configured
// (default OFF, ON, TOGGLE, HOLD), the default texts in any case, and the
// numbers 1 and 0 (SetOption26-era integrations and rules send them).
func (t Tasmota) powerState(s string) tasmotaPowerState {
	for i, text := range t.stateText {
		if text != "" && s == text {
			return [...]tasmotaPowerState{powerOff, powerOn, powerNoState, powerNoState}[i]
		}
	}
	switch {
	case s == "1", strings.EqualFold(s, "ON"):
		return powerOn
	case s == "0", strings.EqualFold(s, "OFF"):
		return powerOff
	case strings.EqualFold(s, "TOGGLE"), strings.EqualFold(s, "HOLD"):
		return powerNoState
	}
	return powerUnknown
}

// powerValue reads a POWER[n] value of a JSON payload: a state text or a
// number 1/0.
func (t Tasmota) powerValue(v any) tasmotaPowerState {
	switch v := v.(type) {
	case string:
		return t.powerState(v)
	case json.Number:
		return t.powerState(string(v))
	}
	return powerUnknown
}

func (t Tasmota) fullTopic() *tasmotaFullTopic {
	if t.ft == nil {
		return defaultFullTopic
	}
	return t.ft
}

// RootDevice implements RootDevices when %topic% is the FullTopic's first
// level ("%topic%/%prefix%/"): each device then owns a root prefix, and a
// source lists them rather than subscribe "#". %topic% may span levels.
func (t Tasmota) RootDevice(string) error {
	if t.fullTopic().topicAt != 0 {
		return fmt.Errorf("with full_topic %q a device owns no root prefix; devices need a full_topic that starts with %%topic%%", t.fullTopic().raw)
	}
	return nil
}

var _ RootDevices = Tasmota{}

// FullTopic returns the FullTopic the handler decodes.
func (t Tasmota) FullTopic() string { return t.fullTopic().raw }
