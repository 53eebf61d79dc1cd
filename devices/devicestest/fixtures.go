package devicestest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// Fixture is one testdata file: payloads taken from a family's own
// documentation, with the Readings they must decode to.
//
//	{
//	  "source": "https://www.zigbee2mqtt.io/devices/WSDCGQ11LM.html",
//	  "base": "zigbee2mqtt",
//	  "cases": [
//	    {"name": "state", "topic": "zigbee2mqtt/living room/climate",
//	     "payload": {"temperature": 21.5, "voltage": 2995},
//	     "readings": [{"device": "living room/climate",
//	                   "metrics": {"temperature": 21.5, "voltage": 2.995}}]},
//	    {"topic": "zigbee2mqtt/lamp/availability", "payload_text": "offline",
//	     "readings": [{"device": "lamp", "online": false}]},
//	    {"topic": "zigbee2mqtt/bridge/state", "payload_text": "online", "ignored": true},
//	    {"topic": "zigbee2mqtt/lamp", "payload_text": "{", "reject": "invalid_json"}
//	  ]
//	}
type Fixture struct {
	// Source is the URL of the documentation the payloads come from.
	// Required: a fixture without a source is an invented payload.
	Source string `json:"source"`
	// Note says how the payloads were adapted, if at all.
	Note string `json:"note,omitempty"`
	// Base is the base topic; absent means the handler's DefaultBase.
	Base *string `json:"base,omitempty"`
	// ReceivedAt is every message's receive time; zero means DefaultReceivedAt.
	ReceivedAt time.Time `json:"received_at,omitempty"`
	// Config is family-specific configuration (the json family reads its
	// JSONConfig from here); the kit does not interpret it.
	Config json.RawMessage `json:"config,omitempty"`
	Cases  []Case          `json:"cases"`
}

// DefaultReceivedAt is the receive time of fixture messages that name none.
var DefaultReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Case is one message and the verdict expected for it: exactly one of
// Readings, Ignored and Reject.
type Case struct {
	Name  string `json:"name,omitempty"`
	Topic string `json:"topic"`
	// Payload is a JSON payload, sent in compact form (key order kept).
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadText is sent verbatim, for non-JSON payloads ("online").
	PayloadText *string `json:"payload_text,omitempty"`
	Retained    bool    `json:"retained,omitempty"`
	// Readings are the expected Readings, in order.
	Readings []Expect `json:"readings,omitempty"`
	// Ignored expects an error wrapping devices.ErrIgnored.
	Ignored bool `json:"ignored,omitempty"`
	// Reject expects a *devices.DecodeError with this reason.
	Reject string `json:"reject,omitempty"`
}

// Expect is an expected Reading. Family is always the handler's.
type Expect struct {
	Device string `json:"device"`
	Online *bool  `json:"online,omitempty"`
	// TS is the device time; absent means the receive time.
	TS *time.Time `json:"ts,omitempty"`
	// Metrics must match exactly (floats within 1e-9 relative).
	Metrics map[string]any `json:"metrics,omitempty"`
	// Attrs must match exactly when present; absent means not checked.
	Attrs map[string]string `json:"attrs,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// LoadFixture reads and checks one fixture file.
func LoadFixture(path string) (Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return Fixture{}, fmt.Errorf("%s: %w", path, err)
	}
	if !strings.HasPrefix(f.Source, "https://") {
		return Fixture{}, fmt.Errorf("%s: source %q must be the https URL of the documentation the payloads come from", path, f.Source)
	}
	if len(f.Cases) == 0 {
		return Fixture{}, fmt.Errorf("%s: no cases", path)
	}
	for i, c := range f.Cases {
		verdicts := 0
		if len(c.Readings) > 0 {
			verdicts++
		}
		if c.Ignored {
			verdicts++
		}
		if c.Reject != "" {
			verdicts++
		}
		if verdicts != 1 {
			return Fixture{}, fmt.Errorf("%s: case %d (%s): want exactly one of readings, ignored, reject", path, i, c.Name)
		}
		if c.Payload != nil && c.PayloadText != nil {
			return Fixture{}, fmt.Errorf("%s: case %d (%s): both payload and payload_text", path, i, c.Name)
		}
	}
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = DefaultReceivedAt
	}
	return f, nil
}

// Message builds the MQTT message of case c.
func (f Fixture) Message(c Case) (devices.Message, error) {
	m := devices.Message{Topic: c.Topic, Retained: c.Retained, ReceivedAt: f.ReceivedAt}
	switch {
	case c.PayloadText != nil:
		m.Payload = []byte(*c.PayloadText)
	case c.Payload != nil:
		var buf bytes.Buffer
		if err := json.Compact(&buf, c.Payload); err != nil {
			return m, err
		}
		m.Payload = buf.Bytes()
	}
	return m, nil
}

// Fixtures runs every *.json fixture file in dir (by convention
// testdata/<family>) against h. A directory without fixtures fails.
func Fixtures(t *testing.T, h devices.Handler, dir string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	sort.Strings(paths)
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) { FixtureFile(t, h, p) })
	}
}

// FixtureFile runs one fixture file against h.
func FixtureFile(t *testing.T, h devices.Handler, path string) {
	t.Helper()
	f, err := LoadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	base := h.DefaultBase()
	if f.Base != nil {
		base = *f.Base
	}
	for i, c := range f.Cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("%d_%s", i, c.Topic)
		}
		t.Run(name, func(t *testing.T) {
			m, err := f.Message(c)
			if err != nil {
				t.Fatalf("payload: %v", err)
			}
			if !matchesAny(h.Filters(base), m.Topic) {
				t.Fatalf("topic %q matches none of the filters %q", m.Topic, h.Filters(base))
			}
			rs, err, problem := decode(h, base, m)
			if problem != nil {
				t.Fatal(problem)
			}
			switch {
			case c.Ignored:
				if !errors.Is(err, devices.ErrIgnored) {
					t.Fatalf("got %v, %d readings; want ignored", err, len(rs))
				}
			case c.Reject != "":
				var de *devices.DecodeError
				if !errors.As(err, &de) || de.Reason != c.Reject {
					t.Fatalf("got %v; want reject %q", err, c.Reject)
				}
			default:
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				compare(t, h, f.ReceivedAt, c.Readings, rs)
			}
			if len(rs) > 0 && (c.Ignored || c.Reject != "") {
				t.Fatalf("got %d readings with a non-nil error", len(rs))
			}
		})
	}
}

func compare(t *testing.T, h devices.Handler, receivedAt time.Time, want []Expect, got []devices.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		CheckReading(t, h, g)
		if g.Device != w.Device {
			t.Errorf("reading %d: device %q, want %q", i, g.Device, w.Device)
		}
		if (g.Online == nil) != (w.Online == nil) || (g.Online != nil && *g.Online != *w.Online) {
			t.Errorf("reading %d: online %s, want %s", i, fmtBool(g.Online), fmtBool(w.Online))
		}
		wantTS := receivedAt
		if w.TS != nil {
			wantTS = *w.TS
		}
		if !g.TS.Equal(wantTS) {
			t.Errorf("reading %d: ts %v, want %v", i, g.TS, wantTS)
		}
		if !g.ReceivedAt.Equal(receivedAt) {
			t.Errorf("reading %d: received_at %v, want %v", i, g.ReceivedAt, receivedAt)
		}
		for _, k := range union(keys(g.Metrics), keys(w.Metrics)) {
			gv, gok := g.Metrics[k]
			wv, wok := w.Metrics[k]
			switch {
			case !gok:
				t.Errorf("reading %d: metric %s missing, want %v", i, k, wv)
			case !wok:
				t.Errorf("reading %d: unexpected metric %s = %v", i, k, gv)
			case !sameValue(gv, wv):
				t.Errorf("reading %d: metric %s = %v (%T), want %v (%T)", i, k, gv, gv, wv, wv)
			}
		}
		if w.Attrs != nil && !equalMaps(g.Attrs, w.Attrs) {
			t.Errorf("reading %d: attrs %v, want %v", i, g.Attrs, w.Attrs)
		}
		if w.Tags != nil && !equalMaps(g.Tags, w.Tags) {
			t.Errorf("reading %d: tags %v, want %v", i, g.Tags, w.Tags)
		}
	}
}

func fmtBool(b *bool) string {
	if b == nil {
		return "unset"
	}
	return fmt.Sprint(*b)
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(g-w) <= 1e-9*math.Max(1, math.Abs(w))
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range append(a, b...) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
