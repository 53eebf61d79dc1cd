package devicestest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// testBase is a custom base every family must support besides its default.
const testBase = "mqlive_test/site-1"

// testDevice is the device the Sampler checks use.
const testDevice = "mqlive_dev_1"

// now is the fixed receive time of every message the kit decodes.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// maxDecodeTime bounds one Decode of a hostile payload: generous for slow
// CI machines, far below what quadratic work on 5 MiB would take.
const maxDecodeTime = 2 * time.Second

// Run checks h against the Handler contract and, when h implements them,
// the Sampler, Commander and Staler contracts, with a one-level test
// device id.
func Run(t *testing.T, h devices.Handler) {
	t.Helper()
	RunDevice(t, h, testDevice)
}

// RunDevice is Run with the device id the Sampler and Commander checks
// use, for families whose ids have a shape of their own (Sparkplug's
// group/edge[/device]).
func RunDevice(t *testing.T, h devices.Handler, device string) {
	t.Helper()
	if err := devices.ValidFamily(h.Family()); err != nil {
		t.Fatalf("family id: %v", err)
	}
	bases := []string{h.DefaultBase()}
	if h.DefaultBase() != testBase {
		bases = append(bases, testBase)
	}
	for _, base := range bases {
		t.Run(fmt.Sprintf("base=%q", base), func(t *testing.T) {
			if err := devices.ValidBase(base); err != nil {
				t.Fatalf("DefaultBase: %v", err)
			}
			checkFilters(t, h, base)
			t.Run("hostile", func(t *testing.T) { checkHostile(t, h, base, device) })
			if s, ok := h.(devices.Sampler); ok {
				t.Run("sampler", func(t *testing.T) { checkSampler(t, h, s, base, device) })
			}
			if c, ok := h.(devices.Commander); ok {
				t.Run("commander", func(t *testing.T) { checkCommander(t, h, c, base, device) })
			}
		})
	}
	if s, ok := h.(devices.Staler); ok {
		if d := s.StaleAfter(); d <= 0 {
			t.Errorf("StaleAfter() = %v, want > 0", d)
		}
	}
}

func checkFilters(t *testing.T, h devices.Handler, base string) {
	t.Helper()
	fs := h.Filters(base)
	if len(fs) == 0 {
		t.Fatalf("Filters(%q) is empty", base)
	}
	for _, f := range fs {
		if err := devices.ValidFilter(f); err != nil {
			t.Errorf("Filters(%q): %v", base, err)
		}
	}
	if _, err := devices.NewRouter(devices.Mount{Tenant: "t", Base: base, Handler: h}); err != nil {
		t.Errorf("NewRouter: %v", err)
	}
}

// topics returns topics that reach h under base: one per filter with every
// wildcard replaced, and every topic the Sampler produces.
func topics(h devices.Handler, base, device string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(topic string) {
		if !seen[topic] {
			seen[topic] = true
			out = append(out, topic)
		}
	}
	for _, f := range h.Filters(base) {
		levels := strings.Split(f, "/")
		for i, l := range levels {
			if l == "+" || l == "#" {
				levels[i] = "dev1"
			}
		}
		add(strings.Join(levels, "/"))
	}
	if s, ok := h.(devices.Sampler); ok {
		for _, m := range s.Sample(base, device, now, rand.New(rand.NewPCG(1, 2))) {
			add(m.Topic)
		}
		for _, online := range []bool{true, false} {
			if m, ok := s.Availability(base, device, online); ok {
				add(m.Topic)
			}
		}
	}
	return out
}

func matchesAny(filters []string, topic string) bool {
	for _, f := range filters {
		if devices.Match(f, topic) {
			return true
		}
	}
	return false
}

// decode calls h.Decode, turning a panic into an error and checking that
// the payload was neither modified nor slow to process.
func decode(h devices.Handler, base string, m devices.Message) (rs []devices.Reading, err error, problem error) {
	orig := bytes.Clone(m.Payload)
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil {
				problem = fmt.Errorf("Decode panicked: %v", p)
			}
		}()
		rs, err = h.Decode(base, m)
	}()
	if problem != nil {
		return nil, nil, problem
	}
	if d := time.Since(start); d > maxDecodeTime {
		return rs, err, fmt.Errorf("Decode took %v", d)
	}
	if !bytes.Equal(orig, m.Payload) {
		return rs, err, errors.New("Decode modified the payload")
	}
	return rs, err, nil
}

func checkHostile(t *testing.T, h devices.Handler, base, device string) {
	filters := h.Filters(base)
	for _, topic := range topics(h, base, device) {
		if !matchesAny(filters, topic) {
			continue // a Sampler topic outside the filters is reported by checkSampler
		}
		for _, p := range Hostile() {
			m := devices.Message{Topic: topic, Payload: p.Data, ReceivedAt: now}
			rs, err, problem := decode(h, base, m)
			if problem != nil {
				t.Errorf("%s on %q: %v", p.Name, topic, problem)
				continue
			}
			if len(rs) > 0 {
				t.Errorf("%s on %q: decoded to %d Readings, want none", p.Name, topic, len(rs))
			}
			var de *devices.DecodeError
			if !errors.As(err, &de) && !errors.Is(err, devices.ErrIgnored) {
				t.Errorf("%s on %q: error %v is neither *DecodeError nor ErrIgnored", p.Name, topic, err)
			}
		}
	}
}

func checkSampler(t *testing.T, h devices.Handler, s devices.Sampler, base, device string) {
	filters := h.Filters(base)
	// A device's life: its birth, its telemetry, its will. Families that
	// learn from births (Sparkplug aliases) need this order, as on a broker.
	availability := func(online bool) {
		m, ok := s.Availability(base, device, online)
		if !ok {
			return
		}
		if !matchesAny(filters, m.Topic) {
			t.Errorf("availability topic %q matches none of %q", m.Topic, filters)
			return
		}
		m.ReceivedAt = now
		rs, err, problem := decode(h, base, m)
		if problem != nil || err != nil {
			t.Errorf("availability(%v) %q %q: %v %v", online, m.Topic, m.Payload, err, problem)
			return
		}
		if len(rs) != 1 || rs[0].Online == nil || *rs[0].Online != online || rs[0].Device != device {
			t.Errorf("availability(%v) decoded to %+v, want one Reading of %q with Online=%v", online, rs, device, online)
			return
		}
		CheckReading(t, h, rs[0])
	}
	if l, ok := h.(devices.Learner); ok {
		// Families that learn metadata (Home Assistant discovery, Homie
		// attributes) hear it before the birth, as the simulator sends it.
		for _, m := range s.Sample(base, device, now, rand.New(rand.NewPCG(3, 4))) {
			if matchesAny(l.LearnFilters(base), m.Topic) {
				m.ReceivedAt = now
				_, _, _ = decode(h, base, m)
			}
		}
	}
	availability(true)
	msgs := s.Sample(base, device, now, rand.New(rand.NewPCG(1, 2)))
	if len(msgs) == 0 {
		t.Fatal("Sample returned no messages")
	}
	var all []devices.Reading
	for _, m := range msgs {
		if !matchesAny(filters, m.Topic) {
			t.Errorf("sample topic %q matches none of %q", m.Topic, filters)
			continue
		}
		if m.ReceivedAt.IsZero() {
			m.ReceivedAt = now
		}
		rs, err, problem := decode(h, base, m)
		if problem != nil {
			t.Errorf("sample %q: %v", m.Topic, problem)
			continue
		}
		if err != nil && !errors.Is(err, devices.ErrIgnored) {
			t.Errorf("sample %q %s: %v", m.Topic, m.Payload, err)
			continue
		}
		for _, r := range rs {
			CheckReading(t, h, r)
			if r.Device != device {
				t.Errorf("sample %q decoded to device %q, want %q", m.Topic, r.Device, device)
			}
			if r.Online != nil {
				t.Errorf("sample %q: telemetry set Online; only availability messages may", m.Topic)
			}
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		t.Error("no sampled message decoded to a Reading")
	}
	again := s.Sample(base, device, now, rand.New(rand.NewPCG(1, 2)))
	if !reflect.DeepEqual(msgs, again) {
		t.Error("Sample is not deterministic for the same seed and time")
	}
	checkConcurrent(t, h, base, msgs)
	availability(false)
}

// checkConcurrent decodes the same messages from several goroutines; a
// handler with shared mutable state fails here (and under -race).
func checkConcurrent(t *testing.T, h devices.Handler, base string, msgs []devices.Message) {
	want := make([][]devices.Reading, len(msgs))
	for i, m := range msgs {
		m.ReceivedAt = now
		want[i], _ = h.Decode(base, m)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var diffs []string
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 25; n++ {
				for i, m := range msgs {
					m.ReceivedAt = now
					got, _ := h.Decode(base, m)
					if !reflect.DeepEqual(got, want[i]) {
						mu.Lock()
						diffs = append(diffs, m.Topic)
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(diffs) > 0 {
		t.Errorf("concurrent Decode gave different results for %d messages (first %q)", len(diffs), diffs[0])
	}
}

// CheckReading reports what is wrong with a Reading h decoded: empty
// device, wrong family, zero times, Stale set by a decoder, or metrics that
// are not finite float64 or bool.
func CheckReading(t testing.TB, h devices.Handler, r devices.Reading) {
	t.Helper()
	if r.Device == "" {
		t.Errorf("Reading has an empty Device: %+v", r)
	}
	if r.Family != h.Family() {
		t.Errorf("Reading.Family = %q, want %q", r.Family, h.Family())
	}
	if r.TS.IsZero() || r.ReceivedAt.IsZero() {
		t.Errorf("Reading of %q: TS %v, ReceivedAt %v: want both set", r.Device, r.TS, r.ReceivedAt)
	}
	if r.Stale {
		t.Errorf("Reading of %q: Stale set by the decoder", r.Device)
	}
	for k, v := range r.Metrics {
		if k == "" {
			t.Errorf("Reading of %q: empty metric name", r.Device)
		}
		switch v := v.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("Reading of %q: metric %s = %v is not finite", r.Device, k, v)
			}
		case bool:
		default:
			t.Errorf("Reading of %q: metric %s is %T, want float64 or bool", r.Device, k, v)
		}
	}
	for k := range r.Attrs {
		if k == "" {
			t.Errorf("Reading of %q: empty attr name", r.Device)
		}
	}
}

// commandNames are tried on every Commander; families accept some of them.
var commandNames = []string{"on", "off", "toggle", "set", "get", "Power", "Power2", "Status"}

// checkCommander checks that commands are valid topic names under base and
// are never decoded as device status by the family itself (a command echo
// must not change what the dashboard shows), and that hostile device ids are
// refused.
func checkCommander(t *testing.T, h devices.Handler, c devices.Commander, base, device string) {
	filters := h.Filters(base)
	// Commands go to a device that has been heard: decode its birth first,
	// as a stateful family (Sparkplug) accepts only what the birth declared.
	if s, ok := h.(devices.Sampler); ok {
		if m, ok := s.Availability(base, device, true); ok {
			m.ReceivedAt = now
			_, _, _ = decode(h, base, m)
		}
	}
	encoded := 0
	for _, name := range commandNames {
		for _, args := range []string{"", `{"state":"ON"}`, `"ON"`, `1`} {
			m, err := c.Command(base, device, name, []byte(args))
			if err != nil {
				if !errors.Is(err, devices.ErrInvalidCommand) {
					t.Errorf("Command(%q, %s): error %v does not wrap ErrInvalidCommand", name, args, err)
				}
				continue
			}
			encoded++
			if err := devices.ValidTopic(m.Topic); err != nil {
				t.Errorf("Command(%q, %s): %v", name, args, err)
			}
			if base != "" && !strings.HasPrefix(m.Topic, base+"/") {
				t.Errorf("Command(%q, %s): topic %q is not below base %q", name, args, m.Topic, base)
			}
			if matchesAny(filters, m.Topic) {
				m.ReceivedAt = now
				rs, err, problem := decode(h, base, m)
				if problem != nil || len(rs) > 0 || !errors.Is(err, devices.ErrIgnored) {
					t.Errorf("command %q on %q decodes as %d readings, %v, %v; want ignored", name, m.Topic, len(rs), err, problem)
				}
			}
		}
	}
	if encoded == 0 {
		t.Errorf("Commander encoded none of %q", commandNames)
	}
	for _, device := range []string{"", "+", "#", "a/#", "a\x00b", "a//b", "/a"} {
		if _, err := c.Command(base, device, "on", nil); !errors.Is(err, devices.ErrInvalidCommand) {
			t.Errorf("Command for device %q: %v, want ErrInvalidCommand", device, err)
		}
	}
	if _, err := c.Command(base, device, "no_such_command_xyz", nil); !errors.Is(err, devices.ErrInvalidCommand) {
		t.Errorf("unknown command: %v, want ErrInvalidCommand", err)
	}
}

// CheckDecode decodes m and asserts the Decode contract for any input, as
// fuzz targets need it: no panic, the payload untouched, and either an
// error (*DecodeError or ErrIgnored) with no Readings, or only valid
// Readings, which it returns.
func CheckDecode(t testing.TB, h devices.Handler, base string, m devices.Message) []devices.Reading {
	t.Helper()
	rs, err, problem := decode(h, base, m)
	if problem != nil {
		t.Fatalf("%q: %v", m.Topic, problem)
	}
	if err != nil {
		var de *devices.DecodeError
		if !errors.As(err, &de) && !errors.Is(err, devices.ErrIgnored) {
			t.Fatalf("%q: error %v is neither *DecodeError nor ErrIgnored", m.Topic, err)
		}
		if len(rs) > 0 {
			t.Fatalf("%q: %d Readings with error %v", m.Topic, len(rs), err)
		}
		return nil
	}
	for _, r := range rs {
		CheckReading(t, h, r)
	}
	return rs
}
