package devicestest_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestRunOnBuiltin(t *testing.T) {
	for _, h := range devices.Builtin() {
		t.Run(h.Family(), func(t *testing.T) { devicestest.Run(t, h) })
	}
}

func TestHostileCorpus(t *testing.T) {
	a, b := devicestest.Hostile(), devicestest.Hostile()
	require.True(t, reflect.DeepEqual(a, b), "the corpus is deterministic")
	names := map[string]bool{}
	var biggest int
	for _, p := range a {
		require.NotEmpty(t, p.Data, p.Name)
		require.False(t, names[p.Name], "duplicate %s", p.Name)
		names[p.Name] = true
		biggest = max(biggest, len(p.Data))
	}
	require.GreaterOrEqual(t, biggest, 5<<20)
	for _, want := range []string{"deep_array", "number_1e400", "nan_literal", "binary_garbage", "invalid_utf8_string", "truncated_json"} {
		require.True(t, names[want], want)
	}
}

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheckReadingFindsProblems(t *testing.T) {
	h := devices.Tasmota{}
	now := time.Now()
	good := devices.Reading{Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"a": 1.0, "b": true}}
	rec := &recorder{TB: t}
	devicestest.CheckReading(rec, h, good)
	require.Empty(t, rec.errs)

	for name, bad := range map[string]devices.Reading{
		"empty device": {Family: "tasmota", TS: now, ReceivedAt: now},
		"wrong family": {Device: "d", Family: "zigbee2mqtt", TS: now, ReceivedAt: now},
		"zero ts":      {Device: "d", Family: "tasmota", ReceivedAt: now},
		"stale":        {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Stale: true},
		"nan":          {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"a": math.NaN()}},
		"inf":          {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"a": math.Inf(1)}},
		"int":          {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"a": 1}},
		"string":       {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"a": "1"}},
		"empty name":   {Device: "d", Family: "tasmota", TS: now, ReceivedAt: now, Metrics: map[string]any{"": 1.0}},
	} {
		rec := &recorder{TB: t}
		devicestest.CheckReading(rec, h, bad)
		require.NotEmpty(t, rec.errs, name)
	}
}

func writeFixture(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadFixture(t *testing.T) {
	f, err := devicestest.LoadFixture(writeFixture(t, `{"source":"https://example.org/doc","cases":[
		{"topic":"tele/x/SENSOR","payload":{"b": 1,  "a": [1, 2]},"readings":[{"device":"x"}]},
		{"topic":"tele/x/LWT","payload_text":"Online","readings":[{"device":"x","online":true}]}]}`))
	require.NoError(t, err)
	require.Equal(t, devicestest.DefaultReceivedAt, f.ReceivedAt)
	m, err := f.Message(f.Cases[0])
	require.NoError(t, err)
	require.Equal(t, `{"b":1,"a":[1,2]}`, string(m.Payload), "compact, key order kept")
	m, err = f.Message(f.Cases[1])
	require.NoError(t, err)
	require.Equal(t, "Online", string(m.Payload))

	for name, body := range map[string]string{
		"no source":     `{"cases":[{"topic":"a","ignored":true}]}`,
		"http source":   `{"source":"http://x","cases":[{"topic":"a","ignored":true}]}`,
		"no cases":      `{"source":"https://x"}`,
		"two verdicts":  `{"source":"https://x","cases":[{"topic":"a","ignored":true,"reject":"invalid_json"}]}`,
		"no verdict":    `{"source":"https://x","cases":[{"topic":"a"}]}`,
		"two payloads":  `{"source":"https://x","cases":[{"topic":"a","payload":{},"payload_text":"x","ignored":true}]}`,
		"unknown field": `{"source":"https://x","cases":[{"topic":"a","ignored":true,"expect":1}]}`,
	} {
		_, err := devicestest.LoadFixture(writeFixture(t, body))
		require.Error(t, err, name)
	}
}

func TestFixtureFile(t *testing.T) {
	p := writeFixture(t, `{"source":"https://tasmota.github.io/docs/MQTT/","cases":[
		{"topic":"stat/tasmota_switch/POWER","payload_text":"ON","readings":[{"device":"tasmota_switch","metrics":{"state":true}}]},
		{"topic":"stat/tasmota_switch/RESULT","payload":{"Other":1},"ignored":true},
		{"topic":"tele/tasmota_switch/LWT","payload_text":"x","reject":"invalid_payload"}]}`)
	devicestest.FixtureFile(t, devices.Tasmota{}, p)
}
