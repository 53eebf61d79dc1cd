package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/devices"
)

const (
	waitFor = 15 * time.Second
	pollInt = 20 * time.Millisecond
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// broker is a real MQTT broker that a test can stop and start again on the
// same address.
type broker interface {
	URL() string
	Stop(t *testing.T)
	Start(t *testing.T)
}

// embeddedBroker is bridge/embedded on a fixed loopback address.
type embeddedBroker struct {
	addr   string
	b      *embedded.Broker
	cancel context.CancelFunc
	done   chan error
}

func startEmbedded(t *testing.T) *embeddedBroker {
	t.Helper()
	eb := &embeddedBroker{addr: "127.0.0.1:0"}
	eb.Start(t)
	eb.addr = eb.b.Addr()
	t.Cleanup(func() { eb.Stop(t) })
	return eb
}

func (e *embeddedBroker) URL() string { return "tcp://" + e.addr }

func (e *embeddedBroker) Start(t *testing.T) {
	t.Helper()
	var err error
	// The old listener's port can take a moment to be free again.
	require.Eventually(t, func() bool {
		e.b, err = embedded.New(embedded.Config{Listen: e.addr, Logger: quietLogger()})
		return err == nil
	}, waitFor, pollInt, "restart embedded broker on %s: %v", e.addr, err)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.b.Run(ctx) }()
}

func (e *embeddedBroker) Stop(t *testing.T) {
	t.Helper()
	if e.cancel == nil {
		return
	}
	e.cancel()
	require.NoError(t, <-e.done)
	e.cancel = nil
}

// mosquittoBroker is a real mosquitto process on a free loopback port.
type mosquittoBroker struct {
	port int
	conf string
	cmd  *exec.Cmd
	exit chan struct{}
	log  syncBuffer // mosquitto's output, shown when it fails to start
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const mosquittoPath = "/usr/sbin/mosquitto"

func startMosquitto(t *testing.T, extraConf string) *mosquittoBroker {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err != nil {
		if os.Getenv("CI") == "true" { // .ci/run installs it: a skip there would hide the tests
			t.Fatalf("CI=true: %s not found", mosquittoPath)
		}
		t.Skipf("%s not found; install it (apt-get install -y mosquitto) to run the mosquitto tests", mosquittoPath)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n%s", port, extraConf)
	if os.Geteuid() == 0 {
		// As root, mosquitto drops to its own user, which cannot read
		// files in the test's private temporary directory.
		body += "user root\n"
	}
	require.NoError(t, os.WriteFile(conf, []byte(body), 0o600))
	m := &mosquittoBroker{port: port, conf: conf}
	m.Start(t)
	t.Cleanup(func() { m.Stop(t) })
	return m
}

func (m *mosquittoBroker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.port) }

func (m *mosquittoBroker) Start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(mosquittoPath, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = &m.log, &m.log
	require.NoError(t, m.cmd.Start())
	m.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { _ = cmd.Wait(); close(exit) }(m.cmd, m.exit)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, waitFor, pollInt, "mosquitto did not start listening on port %d", m.port)
	if t.Failed() {
		t.Logf("mosquitto output:\n%s", m.log.String())
	}
}

func (m *mosquittoBroker) Stop(t *testing.T) {
	t.Helper()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.exit:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exit
	}
	m.cmd = nil
}

// sink collects the messages a Handler receives.
type sink struct {
	mu   sync.Mutex
	msgs []devices.Message
}

func (s *sink) handle(m devices.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (s *sink) all() []devices.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Message(nil), s.msgs...)
}

func (s *sink) has(topic, payload string) bool {
	for _, m := range s.all() {
		if m.Topic == topic && string(m.Payload) == payload {
			return true
		}
	}
	return false
}

// runClient runs c until the test ends and checks that Run returned nil.
func runClient(t *testing.T, c *Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(waitFor):
				t.Error("ingest Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
