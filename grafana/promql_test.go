package grafana_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/simulator"
)

// reportMetrics come from client latency reports (the report method):
// the test fails when the bridge does not export them after the clients
// reported, like any other metric a dashboard or alert uses.
var reportMetrics = []string{"mqlive_client_delivery_latency_seconds", "mqlive_client_reports_total"}

// testWindow replaces every range ([10m], [15m]) of the shipped alert rules
// in the test's copy, and testFor every for: duration, so that each alert
// can be provoked within seconds. Thresholds and the shape of each
// expression are the shipped ones. testFor is four of the test's 1 s
// scrapes, as the shipped rules' shortest for: (1m) is four of the shipped
// 15 s scrapes: with 1 s, one scrape slower than its 900 ms timeout on a
// loaded machine fired MQLiveBridgeDown, which production would not.
const (
	testWindow     = "20s"
	testFor        = "4s"
	rateInterval   = "1m" // what $__rate_interval stands for in the test
	acmeTenant     = "acme"
	defaultTenant  = bridge.DefaultTenant
	slowClients    = 3 // MQLiveSlowConsumerDisconnects fires at >= 3
	bigPayloadPad  = 32 << 10
	fillMessages   = 900
	pollEvery      = 250 * time.Millisecond
	evalTimeout    = 40 * time.Second
	alertTimeout   = 40 * time.Second
	latencyBucket  = 10 // index of the 2.5 s bucket: p99 ≈ 2.4 s, above the 1 s SLO
	reportSamples  = 20
	rangeSelector  = `\[\d+[smhd]\]`
	rulesFileName  = "alerts.yml"
	shippedRules   = "prometheus/alerts.yml"
	shippedScrape  = "prometheus/prometheus.yml"
	dashboardsGlob = "dashboards/*.json"
)

// TestDashboardsAndAlertsAgainstRealPrometheus runs a real bridge fed by
// the simulator (two families, tenant default, 20% bad payloads) and a
// second tenant (acme) that sends a burst and stops, with real dashboard
// clients (fast, latest-mode, slow, rejected), and a real Prometheus
// scraping it with the shipped scrape config and (time-scaled) alert
// rules. Every expression of every dashboard must parse and return data;
// every alert must be seen firing in the condition provoked for it.
func TestDashboardsAndAlertsAgainstRealPrometheus(t *testing.T) {
	needBinary(t, prometheusBin)
	started := time.Now()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// An external broker, so the test can take it away from the bridge.
	broker, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: quiet})
	require.NoError(t, err)
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- broker.Run(context.Background()) }()
	stopBroker := sync.OnceFunc(func() {
		require.NoError(t, broker.Close())
		require.NoError(t, <-brokerDone)
	})
	t.Cleanup(stopBroker)

	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.MQTT.URL = broker.URL()
		// Slow consumers are found within a second (bridge/slow_test.go).
		c.HTTP.QueueSize = 64
		c.HTTP.SlowConsumerTimeout = 300 * time.Millisecond
		c.HTTP.WriteTimeout = 30 * time.Second
		c.HTTP.DrainTimeout = 2 * time.Second
		for _, h := range devices.Builtin() {
			c.Sources = append(c.Sources, bridge.SourceConfig{Family: h.Family(), Tenant: defaultTenant})
		}
		base := acmeTenant
		c.Sources = append(c.Sources, bridge.SourceConfig{Family: "zigbee2mqtt", Tenant: acmeTenant, Base: &base, Stale: time.Second})
	})

	shippedConfig, err := os.ReadFile(shippedScrape)
	require.NoError(t, err)
	prom := startPrometheus(t,
		scrapeConfig(t, shippedConfig, strings.TrimPrefix(b.HTTPURL, "http://"), []string{rulesFileName}),
		map[string][]byte{rulesFileName: timeScaledRules(t)})
	alerts := watchAlerts(t, prom)

	ctx, cancel := context.WithCancel(context.Background())
	sim, err := simulator.New(simulator.Config{
		URL: broker.URL(), Devices: 3, Interval: 200 * time.Millisecond, Seed: 1, Logger: quiet,
		// Half the rounds are malformed: the rejection ratio of tenant default
		// stays far above the 5% alert threshold even with families (Homie,
		// Home Assistant) whose rounds carry many metadata messages.
		Bad: 0.5,
	}, nil)
	require.NoError(t, err)
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	stopSim := sync.OnceFunc(func() { cancel(); require.NoError(t, <-simDone) })
	t.Cleanup(stopSim)

	clients := startClients(t, b)
	// acme sends a trickle until Prometheus has seen it flowing, so that
	// MQLiveIngestStopped later fires because acme stopped, not because
	// its series started flat. Meanwhile Prometheus also sees the
	// slow-consumer counter at 0: increase() needs a sample before the
	// disconnects.
	n := 0
	eventuallyEach(t, 20*time.Second, func() {
		clients.tick()
		n++
		b.Publish(t, fmt.Sprintf("%s/dev-%d", acmeTenant, n%3), []byte(fmt.Sprintf(`{"temperature":%d}`, n)))
	}, func() error {
		for _, q := range []string{
			`sum(rate(mqlive_ingest_messages_total{tenant="acme",verdict="decoded"}[` + testWindow + `])) > 0`,
			`count_over_time(mqlive_hub_slow_consumer_disconnects_total[1m]) >= 2`,
		} {
			v, err := prom.query(q)
			if err != nil {
				return err
			}
			if len(v) == 0 {
				return fmt.Errorf("no data yet: %s", q)
			}
		}
		return nil
	})
	provokeSlowConsumers(t, b)
	acmeStopped := time.Now()
	t.Logf("setup and slow consumers: %v", time.Since(started).Round(time.Millisecond))

	// Prometheus needs a few scrapes of all that before rate() has data.
	requireReportMetrics(t, b, clients)
	evaluateDashboards(t, prom, clients.tick)
	t.Logf("dashboards evaluated: %v", time.Since(started).Round(time.Millisecond))

	want := []string{
		`MQLiveRejectionRatioHigh{tenant="default"}`,
		`MQLiveIngestStopped{tenant="acme"}`,
		`MQLiveSlowConsumerDisconnects{}`,
		`MQLiveE2ELatencyHigh{tenant="default"}`,
	}
	alerts.waitFiring(t, want, clients.tick)
	// rate() over the window stays above 0 until acme's last message
	// leaves it.
	first := alerts.firstFiring(`MQLiveIngestStopped{tenant="acme"}`)
	require.Greater(t, first.Sub(acmeStopped), 15*time.Second, "acme stopped at %v, alert fired at %v", acmeStopped, first)
	t.Logf("provoked alerts fired: %v", time.Since(started).Round(time.Millisecond))

	// Nothing else fired while everything was up.
	for _, k := range alerts.firedKeys() {
		require.Contains(t, want, k, "alert %s fired without being provoked", k)
	}

	// Take the broker away: the bridge loses ingest.
	stopSim()
	stopBroker()
	alerts.waitFiring(t, []string{`MQLiveBrokerDisconnected{}`}, func() {})
	// The broker comes back on the same address and the bridge reconnects
	// (and stops cleanly, with no reconnect pending).
	restartBroker(t, broker.Addr(), quiet)
	eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(b.HTTPURL + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	// Then the bridge itself goes away.
	clients.close()
	b.Stop()
	alerts.waitFiring(t, []string{`MQLiveBridgeDown{}`}, func() {})

	health, err := prom.ruleHealth()
	require.NoError(t, err)
	for name, h := range health {
		require.True(t, strings.HasPrefix(h, "ok"), "rule %s evaluates with errors: %s", name, h)
	}
	t.Logf("total: %v", time.Since(started).Round(time.Millisecond))
}

// restartBroker starts a new embedded broker on addr until the test ends.
func restartBroker(t *testing.T, addr string, log *slog.Logger) {
	t.Helper()
	var broker *embedded.Broker
	eventually(t, 10*time.Second, func() error {
		var err error
		broker, err = embedded.New(embedded.Config{Listen: addr, Logger: log})
		return err
	})
	done := make(chan error, 1)
	go func() { done <- broker.Run(context.Background()) }()
	t.Cleanup(func() {
		require.NoError(t, broker.Close())
		require.NoError(t, <-done)
	})
}

// timeScaledRules is the shipped rule file with every range and for:
// duration shortened (see testWindow) and evaluated every second.
func timeScaledRules(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(shippedRules)
	require.NoError(t, err)
	var doc struct {
		Groups []map[string]any `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	ranges := regexp.MustCompile(rangeSelector)
	for _, g := range doc.Groups {
		g["interval"] = "1s"
		for _, r := range g["rules"].([]any) {
			rule := r.(map[string]any)
			rule["expr"] = ranges.ReplaceAllString(rule["expr"].(string), "["+testWindow+"]")
			if _, ok := rule["for"]; ok {
				rule["for"] = testFor
			}
		}
	}
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return out
}

// clients are the dashboard sessions that give the connection, request,
// recovery and latency metrics their data.
type clients struct {
	t        *testing.T
	b        *bridgetest.Bridge
	fast     *bridgetest.Client // stream subscriber that keeps up
	latest   *bridgetest.Client // latest-mode subscriber
	reporter *bridgetest.Client // sends latency reports like the browser SDK
	all      []*bridgetest.Client
}

func startClients(t *testing.T, b *bridgetest.Bridge) *clients {
	t.Helper()
	c := &clients{t: t, b: b}
	tok := b.Token(t, "ops", defaultTenant)
	dial := func() *bridgetest.Client {
		cl := bridgetest.Dial(t, b.WSURL)
		cl.Connect(tok)
		c.all = append(c.all, cl)
		return cl
	}
	c.fast = dial()
	c.fast.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)
	c.latest = dial()
	c.latest.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices", Mode: wire.ModeLatest}, nil)
	c.reporter = dial()

	// Refused at the handshake (no subprotocol) and at connect (bad token).
	if cl, err := bridgetest.DialProtocols(t, b.WSURL, nil); err == nil {
		cl.Close()
	}
	bad := bridgetest.Dial(t, b.WSURL)
	bad.Request(wire.MethodConnect, wire.ConnectParams{Token: "not-a-token"})
	_, closed := bad.WaitClosed(10 * time.Second)
	require.True(t, closed, "a bad token closes the connection")
	// A failing request.
	_, rerr := c.fast.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "no such channel"})
	require.NotNil(t, rerr)
	c.tick()
	return c
}

// tick is what the clients do every poll: the reporter reports latencies
// (all in the 2.5 s bucket, above the SLO), and the fast client subscribes
// again with since, which recovers from history.
func (c *clients) tick() {
	counts := make([]uint64, len(metrics.LatencyBuckets)+1)
	counts[latencyBucket] = reportSamples
	c.reporter.Request(wire.MethodReport, wire.ReportParams{Latency: &wire.LatencyReport{Counts: counts, Sum: reportSamples * 2.0}})
	var res wire.SubscribeResult
	c.fast.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, &res)
	var again wire.SubscribeResult
	c.fast.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices", Since: &wire.StreamPosition{Epoch: res.Epoch, Offset: res.Offset}}, &again)
	require.True(c.t, again.Recovered)
}

func (c *clients) close() {
	for _, cl := range c.all {
		cl.Close()
	}
}

// provokeSlowConsumers has slowClients acme stream clients and one
// latest-mode client stop reading while acme publishes large readings
// (bridge/slow_test.go), until the bridge closes the stream ones with 4009.
// It is also acme's only traffic: afterwards acme stops sending.
func provokeSlowConsumers(t *testing.T, b *bridgetest.Bridge) {
	t.Helper()
	tok := b.Token(t, "ops", acmeTenant)
	var slow []*bridgetest.Client
	for i := 0; i < slowClients; i++ {
		cl := bridgetest.Dial(t, b.WSURL)
		cl.Connect(tok)
		cl.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)
		cl.Pause()
		slow = append(slow, cl)
	}
	conflated := bridgetest.Dial(t, b.WSURL)
	conflated.Connect(tok)
	conflated.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices", Mode: wire.ModeLatest}, nil)
	conflated.Pause()

	pad := strings.Repeat("x", bigPayloadPad)
	filled := make(chan struct{})
	go func() {
		defer close(filled)
		for i := 0; i < fillMessages; i++ {
			b.Publish(t, fmt.Sprintf("%s/dev-%d", acmeTenant, i%3), []byte(fmt.Sprintf(`{"temperature":%d,"description":"%s"}`, i, pad)))
		}
	}()
	defer func() { <-filled }()
	// Resume as soon as the bridge has closed them, while their writers'
	// blocked writes are still within the write timeout, so that the close
	// frames get through however slow this machine is.
	eventually(t, 60*time.Second, func() error {
		if v := gathered(t, b, "mqlive_hub_slow_consumer_disconnects_total"); v < slowClients {
			return fmt.Errorf("slow consumer disconnects: %v", v)
		}
		return nil
	})
	// Read again so that the close frames get through.
	conflated.Resume()
	for _, cl := range slow {
		cl.Resume()
		code, ok := cl.WaitClosed(30 * time.Second)
		require.True(t, ok)
		require.Equal(t, wire.CloseTooSlow, code)
	}
}

// gathered is the value of a counter without labels in b's registry.
func gathered(t *testing.T, b *bridgetest.Bridge, name string) float64 {
	t.Helper()
	mfs, err := b.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return math.NaN()
}

// requireReportMetrics waits until the bridge's /metrics has every
// report metric family, the clients reporting meanwhile, and fails the test
// when one never appears.
func requireReportMetrics(t *testing.T, b *bridgetest.Bridge, c *clients) {
	t.Helper()
	eventuallyEach(t, evalTimeout, c.tick, func() error {
		resp, err := http.Get(b.HTTPURL + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		for _, m := range reportMetrics {
			if !strings.Contains(string(body), "# TYPE "+m+" ") {
				return fmt.Errorf("the bridge does not export %s after client reports", m)
			}
		}
		return nil
	})
}

// evaluateDashboards evaluates every expression of every committed
// dashboard, with every value of its variables that Prometheus' label
// values offer (and All), until each one returns at least one number for
// at least one assignment.
func evaluateDashboards(t *testing.T, prom *promServer, tick func()) {
	t.Helper()
	type check struct {
		e       panelExpr
		assigns []map[string]string
		last    string
	}
	var pending []*check
	paths, err := filepath.Glob(dashboardsGlob)
	require.NoError(t, err)
	var docs []map[string]any
	for _, p := range paths {
		docs = append(docs, readJSON(t, p))
	}
	// Variables first: label_values must list something.
	assigns := map[string][]map[string]string{}
	eventuallyEach(t, evalTimeout, tick, func() error {
		for _, doc := range docs {
			a, err := assignments(prom, dashboardVariables(doc))
			if err != nil {
				return fmt.Errorf("%s: %w", doc["uid"], err)
			}
			assigns[doc["uid"].(string)] = a
		}
		return nil
	})
	total := 0
	for _, doc := range docs {
		for _, e := range dashboardExprs(doc) {
			total++
			pending = append(pending, &check{e: e, assigns: assigns[e.Dashboard]})
		}
	}
	eventuallyEach(t, evalTimeout, tick, func() error {
		left := pending[:0]
		for _, c := range pending {
			ok := false
			for _, a := range c.assigns {
				expr := substitute(c.e.Expr, a)
				v, err := prom.query(expr)
				if errors.Is(err, errBadExpr) {
					t.Fatalf("%s / %s / %s: %v\n%s", c.e.Dashboard, c.e.Panel, c.e.RefID, err, expr)
				}
				if err != nil {
					c.last = err.Error()
					continue
				}
				if hasNumber(v) {
					ok = true
					break
				}
				c.last = fmt.Sprintf("%s → %v", expr, v)
			}
			if !ok {
				left = append(left, c)
			}
		}
		pending = left
		if len(pending) > 0 {
			var msgs []string
			for _, c := range pending {
				msgs = append(msgs, fmt.Sprintf("%s / %s / %s: %s", c.e.Dashboard, c.e.Panel, c.e.RefID, c.last))
			}
			return fmt.Errorf("%d of %d expressions without data:\n%s", len(pending), total, strings.Join(msgs, "\n"))
		}
		return nil
	})
	t.Logf("all %d dashboard expressions returned data", total)
}

// assignments lists every assignment of the query variables, in order,
// each value taken from label_values as Grafana would (plus All).
func assignments(prom *promServer, vars []variable) ([]map[string]string, error) {
	out := []map[string]string{{}}
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)
	for _, v := range vars {
		m := labelValues.FindStringSubmatch(v.Query)
		if m == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, v.Query)
		}
		var next []map[string]string
		for _, a := range out {
			values, err := prom.labelValues(m[2], substitute(m[1], a))
			if err != nil {
				return nil, fmt.Errorf("variable %s: %w", v.Name, err)
			}
			if len(values) == 0 {
				return nil, fmt.Errorf("variable %s: %s lists no value for %v", v.Name, v.Query, a)
			}
			if v.IncludeAll {
				values = append(values, v.AllValue)
			}
			for _, val := range values {
				b := map[string]string{v.Name: val}
				for k, x := range a {
					b[k] = x
				}
				next = append(next, b)
			}
		}
		out = next
	}
	return out, nil
}

// substitute replaces Grafana's variables the way Grafana does before it
// sends a query.
func substitute(expr string, vars map[string]string) string {
	expr = strings.ReplaceAll(expr, "$__rate_interval", rateInterval)
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	// Longest first, so that $tenant_x is not taken for $tenant.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, k := range names {
		expr = strings.ReplaceAll(expr, "${"+k+"}", vars[k])
		expr = strings.ReplaceAll(expr, "$"+k, vars[k])
	}
	return expr
}

// hasNumber: at least one sample that is not NaN (a histogram_quantile or
// ratio over nothing is NaN, which Grafana shows as no value).
func hasNumber(v []sample) bool {
	for _, s := range v {
		if !math.IsNaN(s.float()) {
			return true
		}
	}
	return false
}

// eventuallyEach is eventually with tick run before each attempt, at most
// every pollEvery.
func eventuallyEach(t *testing.T, timeout time.Duration, tick func(), f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tick()
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// alertWatcher records, from a goroutine polling /api/v1/alerts, when each
// alert (name plus tenant) was first seen firing: some fire only for the
// length of their window.
type alertWatcher struct {
	mu     sync.Mutex
	firing map[string]time.Time
	err    error
}

func watchAlerts(t *testing.T, prom *promServer) *alertWatcher {
	w := &alertWatcher{firing: map[string]time.Time{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			as, err := prom.alerts()
			w.mu.Lock()
			w.err = err
			for _, a := range as {
				k := alertKey(a.Labels)
				if _, seen := w.firing[k]; !seen && a.State == "firing" {
					w.firing[k] = time.Now()
				}
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return w
}

func alertKey(labels map[string]string) string {
	if tenant, ok := labels["tenant"]; ok {
		return fmt.Sprintf("%s{tenant=%q}", labels["alertname"], tenant)
	}
	return labels["alertname"] + "{}"
}

func (w *alertWatcher) waitFiring(t *testing.T, want []string, tick func()) {
	t.Helper()
	eventuallyEach(t, alertTimeout, tick, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		var missing []string
		for _, k := range want {
			if _, ok := w.firing[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not fired yet: %v (fired: %v, last error: %v)", missing, keys(w.firing), w.err)
		}
		return nil
	})
}

func (w *alertWatcher) firstFiring(key string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firing[key]
}

func (w *alertWatcher) firedKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return keys(w.firing)
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	return doc
}
