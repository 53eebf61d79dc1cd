package grafana_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/grafana"
)

const (
	prometheusBin = "/usr/bin/prometheus"
	promtoolBin   = "/usr/bin/promtool"
)

// needBinary skips the test when a Debian prometheus package binary is
// missing; under CI=true (set by .ci/run), which installs the package, a
// missing binary fails the test instead.
func needBinary(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		bridgetest.Missing(t, "%s not found (install Debian's prometheus package: apt-get install -y prometheus): %v", path, err)
	}
}

// promServer is a real Prometheus process on a free loopback port.
type promServer struct {
	url    string
	http   *http.Client
	cmd    *exec.Cmd
	exited chan struct{}
	logMu  sync.Mutex
	log    bytes.Buffer
}

// Write collects the process's output for the failure message.
func (p *promServer) Write(b []byte) (int, error) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.Write(b)
}

func (p *promServer) output() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.String()
}

// startPrometheus writes config and the rule files (name → content) into a
// temporary directory and runs Prometheus on it until the test ends.
func startPrometheus(t *testing.T, config []byte, rules map[string][]byte) *promServer {
	t.Helper()
	needBinary(t, prometheusBin)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, config, 0o644))
	for name, b := range rules {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	// A free port is only free until someone takes it: retry a few times
	// if Prometheus exits because it lost the race.
	for attempt := 0; ; attempt++ {
		p := tryPrometheus(t, dir, cfgPath)
		if p != nil {
			return p
		}
		require.Less(t, attempt, 3, "prometheus would not start")
	}
}

func tryPrometheus(t *testing.T, dir, cfgPath string) *promServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := &promServer{
		url:    "http://" + addr,
		http:   &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(prometheusBin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// Only the process this test started: SIGTERM, then SIGKILL if it
		// does not finish within 10 s.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", p.output())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Logf("prometheus on %s exited early:\n%s", addr, p.output())
			return nil
		default:
		}
		resp, err := p.http.Get(p.url + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready within 30s: %v\n%s", addr, err, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// apiResponse is the envelope of every /api/v1 answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (p *promServer) api(path string, params url.Values) (json.RawMessage, error) {
	resp, err := p.http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	str, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// errBadExpr marks a query Prometheus refused (parse or execution error),
// as opposed to one that merely has no data yet.
var errBadExpr = errors.New("bad expression")

// query evaluates expr now and returns the instant vector (a scalar
// result becomes one sample without labels).
func (p *promServer) query(expr string) ([]sample, error) {
	data, err := p.api("/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadExpr, err)
	}
	var r struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	switch r.ResultType {
	case "vector":
		var v []sample
		err := json.Unmarshal(r.Result, &v)
		return v, err
	case "scalar":
		var s sample
		err := json.Unmarshal(r.Result, &s.Value)
		return []sample{s}, err
	default:
		return nil, fmt.Errorf("%w: %q gives a %s, not a vector", errBadExpr, expr, r.ResultType)
	}
}

// labelValues is what Grafana's label_values(selector, label) asks.
func (p *promServer) labelValues(label, selector string) ([]string, error) {
	params := url.Values{}
	if selector != "" {
		params.Set("match[]", selector)
	}
	data, err := p.api("/api/v1/label/"+label+"/values", params)
	if err != nil {
		return nil, err
	}
	var v []string
	return v, json.Unmarshal(data, &v)
}

// alert is one entry of /api/v1/alerts.
type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func (p *promServer) alerts() ([]alert, error) {
	data, err := p.api("/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Alerts []alert `json:"alerts"`
	}
	return r.Alerts, json.Unmarshal(data, &r)
}

// ruleHealth returns, per alert name, the evaluation health Prometheus
// reports ("ok", "err", "unknown") and the last error.
func (p *promServer) ruleHealth() (map[string]string, error) {
	data, err := p.api("/api/v1/rules", nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			out[rule.Name] = rule.Health + " " + rule.LastError
		}
	}
	return out, nil
}

// scrapeConfig turns the shipped prometheus.yml into the test's: the same
// job scraping target every second, with the rule files given.
func scrapeConfig(t *testing.T, shipped []byte, target string, ruleFiles []string) []byte {
	t.Helper()
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(shipped, &cfg))
	cfg["global"] = map[string]any{"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"}
	cfg["rule_files"] = ruleFiles
	scrapes, ok := cfg["scrape_configs"].([]any)
	require.True(t, ok && len(scrapes) == 1, "prometheus.yml has one scrape config")
	job := scrapes[0].(map[string]any)
	require.Equal(t, grafana.Job, job["job_name"], "the dashboards and alerts select this job")
	job["static_configs"] = []any{map[string]any{"targets": []string{target}}}
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	return out
}

// eventually is bridgetest.Eventually, named here for readability.
var eventually = bridgetest.Eventually
