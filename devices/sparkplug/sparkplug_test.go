package sparkplug

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestSparkplugBConformance(t *testing.T) {
	h := New()
	// Sparkplug ids are group/edge[/device] (READINGS.md); the kit decodes
	// the birth first, as a host sees it, so DATA aliases resolve.
	devicestest.RunDevice(t, h, "mqlive_kit/edge-1/sensor-1")
	devicestest.RunDevice(t, New(), "mqlive_kit/edge-2")
	require.Zero(t, h.Stats().UnknownAlias, "every sampled alias was resolved")
}

// fixture is a Sparkplug fixture file. Sparkplug payloads are binary, so a
// case describes its payload in the specification's JSON notation and the
// test encodes it with the generated types; the expected Readings use the
// conformance kit's Expect. Cases of one file run in order against one
// handler: births define what later DATA means.
type fixture struct {
	Source     string    `json:"source"`
	Note       string    `json:"note,omitempty"`
	Base       *string   `json:"base,omitempty"`
	ReceivedAt time.Time `json:"received_at,omitempty"`
	Cases      []fixCase `json:"cases"`
}

type fixCase struct {
	Name    string       `json:"name"`
	Topic   string       `json:"topic"`
	Payload *jsonPayload `json:"payload,omitempty"`
	RawHex  *string      `json:"raw_hex,omitempty"`
	// PayloadText is sent verbatim (host STATE is JSON text).
	PayloadText *string              `json:"payload_text,omitempty"`
	Readings    []devicestest.Expect `json:"readings,omitempty"`
	Ignored     bool                 `json:"ignored,omitempty"`
	Reject      string               `json:"reject,omitempty"`
}

func loadFixture(t *testing.T, path string) fixture {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f fixture
	require.NoError(t, dec.Decode(&f), path)
	require.True(t, strings.HasPrefix(f.Source, "https://"), "%s: source must be an https URL", path)
	require.NotEmpty(t, f.Cases, path)
	if f.ReceivedAt.IsZero() {
		f.ReceivedAt = devicestest.DefaultReceivedAt
	}
	return f
}

func TestSparkplugBFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	sort.Strings(paths)
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) { runFixture(t, p) })
	}
}

func runFixture(t *testing.T, path string) {
	f := loadFixture(t, path)
	h := New()
	base := h.DefaultBase()
	if f.Base != nil {
		base = *f.Base
	}
	var err error
	for i, c := range f.Cases {
		verdicts := 0
		for _, v := range []bool{len(c.Readings) > 0, c.Ignored, c.Reject != ""} {
			if v {
				verdicts++
			}
		}
		require.Equal(t, 1, verdicts, "case %d (%s): want exactly one of readings, ignored, reject", i, c.Name)
		m := devices.Message{Topic: c.Topic, ReceivedAt: f.ReceivedAt}
		switch {
		case c.PayloadText != nil:
			m.Payload = []byte(*c.PayloadText)
		case c.RawHex != nil:
			m.Payload, err = hex.DecodeString(*c.RawHex)
			require.NoError(t, err)
		case c.Payload != nil:
			m.Payload, err = c.Payload.encode()
			require.NoError(t, err, "case %d (%s)", i, c.Name)
		}
		require.True(t, devices.Match(h.Filters(base)[0], c.Topic), "case %d: topic %q outside the filters", i, c.Topic)
		rs, err := h.Decode(base, m)
		switch {
		case c.Ignored:
			require.ErrorIs(t, err, devices.ErrIgnored, "case %d (%s)", i, c.Name)
			require.Empty(t, rs)
		case c.Reject != "":
			var de *devices.DecodeError
			require.True(t, errors.As(err, &de), "case %d (%s): got %v, want reject %s", i, c.Name, err, c.Reject)
			require.Equal(t, c.Reject, de.Reason, "case %d (%s): %v", i, c.Name, err)
			require.Empty(t, rs)
		default:
			require.NoError(t, err, "case %d (%s)", i, c.Name)
			compareReadings(t, h, f.ReceivedAt, c, rs)
		}
	}
}

func compareReadings(t *testing.T, h devices.Handler, receivedAt time.Time, c fixCase, got []devices.Reading) {
	t.Helper()
	require.Len(t, got, len(c.Readings), "case %s: %+v", c.Name, got)
	for i, w := range c.Readings {
		g := got[i]
		devicestest.CheckReading(t, h, g)
		require.Equal(t, w.Device, g.Device, "case %s reading %d", c.Name, i)
		if w.Online == nil {
			require.Nil(t, g.Online, "case %s reading %d: online", c.Name, i)
		} else {
			require.NotNil(t, g.Online, "case %s reading %d: online", c.Name, i)
			require.Equal(t, *w.Online, *g.Online, "case %s reading %d: online", c.Name, i)
		}
		wantTS := receivedAt
		if w.TS != nil {
			wantTS = *w.TS
		}
		require.True(t, wantTS.Equal(g.TS), "case %s reading %d: ts %v, want %v", c.Name, i, g.TS, wantTS)
		require.Len(t, g.Metrics, len(w.Metrics), "case %s reading %d: metrics %v, want %v", c.Name, i, g.Metrics, w.Metrics)
		for k, wv := range w.Metrics {
			gv, ok := g.Metrics[k]
			require.True(t, ok, "case %s reading %d: metric %s missing from %v", c.Name, i, k, g.Metrics)
			switch wv := wv.(type) {
			case float64:
				gf, ok := gv.(float64)
				require.True(t, ok, "case %s: metric %s is %T", c.Name, k, gv)
				require.LessOrEqual(t, math.Abs(gf-wv), 1e-9*math.Max(1, math.Abs(wv)), "case %s: metric %s = %v, want %v", c.Name, k, gf, wv)
			default:
				require.Equal(t, wv, gv, "case %s: metric %s", c.Name, k)
			}
		}
		if w.Attrs != nil {
			require.Equal(t, w.Attrs, g.Attrs, "case %s reading %d: attrs", c.Name, i)
		}
	}
}
