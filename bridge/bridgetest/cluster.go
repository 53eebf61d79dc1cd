package bridgetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
)

// Paths of the outside servers a cluster test runs, as Debian installs
// them, with the package that provides each.
const (
	MosquittoPath = "/usr/sbin/mosquitto"
	NginxPath     = "/usr/sbin/nginx"
)

// StartMosquitto starts mosquitto on a free loopback port with persistence
// in a temporary directory, so a Stop and Start keeps persistent (clean
// session off) QoS 1 sessions and their queued messages. Its Addr is
// host:port; MQTTURL gives the tcp:// URL.
func StartMosquitto(t testing.TB) *Process {
	t.Helper()
	NeedBinary(t, MosquittoPath, "mosquitto")
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	return startOnFreePort(t, func(port int) *Process {
		body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"+
			"max_queued_messages 100000\nmax_inflight_messages 100\nlog_dest stderr\nlog_type error\nlog_type warning\n", port, dir)
		if os.Geteuid() == 0 {
			// As root, mosquitto drops to its own user, which cannot write
			// the test's private temporary directory.
			body += "user root\n"
		}
		require.NoError(t, os.WriteFile(conf, []byte(body), 0o600))
		return &Process{Name: "mosquitto", Path: MosquittoPath, Addr: fmt.Sprintf("127.0.0.1:%d", port), Args: []string{"-c", conf}}
	})
}

// MQTTURL is the tcp:// URL of a broker process.
func MQTTURL(p *Process) string { return "tcp://" + p.Addr }

// StartNginx starts nginx on a free loopback port as a load balancer in
// front of upstreams (host:port each): round robin, no stickiness,
// WebSocket upgrades on every path, and a dead or unready node skipped.
// It runs as one process (master_process off), so stopping its PID stops
// all of it. Addr is host:port.
func StartNginx(t testing.TB, upstreams []string) *Process {
	t.Helper()
	NeedBinary(t, NginxPath, "nginx")
	port := FreePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(NginxConfig(dir, fmt.Sprintf("127.0.0.1:%d", port), upstreams)), 0o600))
	return StartProcess(t, &Process{Name: "nginx", Path: NginxPath, Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Args: []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}})
}

// NginxConfig is a whole nginx.conf for a test load balancer listening on
// listen, keeping its pid, logs and temporary files in dir.
func NginxConfig(dir, listen string, upstreams []string) string {
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Otherwise nginx runs as nobody, who cannot use the temp dir.
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, "daemon off;\nmaster_process off;\npid %[1]s/nginx.pid;\nerror_log %[1]s/error.log warn;\n"+
		"events { worker_connections 1024; }\nhttp {\n  access_log %[1]s/access.log;\n"+
		"  client_body_temp_path %[1]s/client_body;\n  proxy_temp_path %[1]s/proxy;\n  fastcgi_temp_path %[1]s/fastcgi;\n"+
		"  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n", dir)
	b.WriteString("  upstream mqlive {\n")
	for _, u := range upstreams {
		// A failed node is skipped for 2 s, then tried again.
		fmt.Fprintf(&b, "    server %s max_fails=1 fail_timeout=2s;\n", u)
	}
	b.WriteString("  }\n")
	b.WriteString(`  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen ` + listen + `;
    location / {
      proxy_pass http://mqlive;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`)
	return b.String()
}

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// BuildBinary builds ./bridge/cmd/mqlive once per test binary and returns
// its path. RemoveBinaries deletes it (call it from TestMain).
func BuildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			buildErr = fmt.Errorf("go env GOMOD: not inside a module")
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "mqlive-bridgetest-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "mqlive")
		cmd := exec.Command("go", "build", "-o", buildBin, "./bridge/cmd/mqlive")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./bridge/cmd/mqlive: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("bridgetest: %v", buildErr)
	}
	return buildBin
}

// RemoveBinaries deletes what BuildBinary built.
func RemoveBinaries() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// Node is a bridge binary running as its own process, as in production.
type Node struct {
	*Process
	// HTTPURL is http://127.0.0.1:PORT; WSURL is ws://127.0.0.1:PORT/ws.
	HTTPURL, WSURL string
}

// StartNode runs the bridge binary bin as node name on a free loopback
// port and waits until its /readyz answers 200. env adds MQLIVE_*
// variables (MQLIVE_MQTT_URL, MQLIVE_CLUSTER_BACKPLANE, MQLIVE_CONFIG…) to
// the defaults: MQLIVE_NODE=name, MQLIVE_HTTP_ADDR, MQLIVE_JWT_SECRET=Secret
// and MQLIVE_LOG_LEVEL=warn. The node is stopped (SIGTERM) when the test
// ends; its output is logged if the test failed.
func StartNode(t testing.TB, bin, name string, env map[string]string) *Node {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	all := map[string]string{
		"MQLIVE_NODE":       name,
		"MQLIVE_HTTP_ADDR":  addr,
		"MQLIVE_JWT_SECRET": Secret,
		"MQLIVE_LOG_LEVEL":  "warn",
	}
	for k, v := range env {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := &Process{Name: name, Path: bin, Addr: addr}
	for _, k := range keys {
		p.Env = append(p.Env, k+"="+all[k])
	}
	n := &Node{Process: p, HTTPURL: "http://" + addr, WSURL: "ws://" + addr + "/ws"}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of node %s:\n%s", name, p.Output())
		}
	})
	StartProcess(t, p)
	n.WaitReady(t, 30*time.Second)
	return n
}

// Restart starts a stopped or killed node again on the same port and waits
// until it is ready.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	n.Start(t)
	n.WaitReady(t, 30*time.Second)
}

// Readyz returns the status code and body of GET /readyz.
func (n *Node) Readyz() (int, string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(n.HTTPURL + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// WaitReady polls /readyz until it answers 200.
func (n *Node) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	n.waitReadyz(t, timeout, http.StatusOK)
}

// WaitNotReady polls /readyz until it answers 503.
func (n *Node) WaitNotReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	n.waitReadyz(t, timeout, http.StatusServiceUnavailable)
}

func (n *Node) waitReadyz(t testing.TB, timeout time.Duration, want int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body, err := n.Readyz()
		if err == nil && code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridgetest: node %s /readyz not %d within %v: %d %q %v\n%s", n.Name, want, timeout, code, body, err, n.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Admin calls the admin HTTP API (path below /api/v1, body marshalled to
// JSON, or nil for none) with a token of tenant that may call every
// operation and publish to every user: and app: channel, and returns the
// status code and response body.
func (n *Node) Admin(t testing.TB, method, path, tenant string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.HTTPURL+"/api/v1/"+strings.TrimPrefix(path, "/"), rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+Token(t, "admin", tenant, func(c *auth.Claims) {
		c.API, c.Pub = auth.APIOperations, []string{"user:*", "app:*"}
	}))
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// ConnectMQTT connects a paho client to url with the given client id and
// clean-session flag, without automatic reconnection, and disconnects it
// when the test ends.
func ConnectMQTT(t testing.TB, url, clientID string, clean bool) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetWriteTimeout(10 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bridgetest: connect MQTT client %s to %s: %v", clientID, url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
