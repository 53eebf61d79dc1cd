package bridgetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
)

// Secret is the HS256 secret of every test bridge.
const Secret = "bridgetest-secret-0123456789abcdef0123456789"

// Bridge is a running bridge node on loopback.
type Bridge struct {
	*bridge.Bridge
	// HTTPURL is http://127.0.0.1:PORT; WSURL is ws://127.0.0.1:PORT/ws.
	HTTPURL, WSURL string
	// MQTTURL is the embedded broker, tcp://127.0.0.1:PORT.
	MQTTURL string
	Config  bridge.Config

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
	pub    paho.Client
}

// Option adjusts the configuration before the bridge starts.
type Option func(*bridge.Config)

// Start runs a bridge with an embedded broker, both on 127.0.0.1:0.
func Start(t testing.TB, opts ...Option) *Bridge {
	t.Helper()
	cfg := bridge.DefaultConfig()
	cfg.Node = "test-node"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.MQTT.Listen = "127.0.0.1:0"
	cfg.Auth.JWTSecret = Secret
	cfg.Log.Level = "warn"
	for _, o := range opts {
		o(&cfg)
	}
	b := &Bridge{Config: cfg}
	b.start(t, cfg)
	t.Cleanup(b.Stop)
	return b
}

func (b *Bridge) start(t testing.TB, cfg bridge.Config) {
	t.Helper()
	var br *bridge.Bridge
	var err error
	// A restart may briefly find its old port in use; retry for a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		br, err = bridge.New(cfg, bridge.WithLogger(testLogger(t)))
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "in use") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	b.mu.Lock()
	b.Bridge, b.cancel, b.done = br, cancel, done
	b.HTTPURL = "http://" + br.HTTPAddr()
	b.WSURL = "ws://" + br.HTTPAddr() + "/ws"
	b.MQTTURL = br.MQTTURL()
	b.mu.Unlock()
	Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(b.HTTPURL + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d: %s", resp.StatusCode, body)
		}
		return nil
	})
}

// Stop shuts the bridge down and waits for it. It is idempotent.
func (b *Bridge) Stop() {
	b.mu.Lock()
	cancel, done, pub := b.cancel, b.done, b.pub
	b.cancel, b.pub = nil, nil
	b.mu.Unlock()
	if pub != nil {
		pub.Disconnect(100)
	}
	if cancel == nil {
		return
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		panic("bridgetest: bridge did not stop within 30s")
	}
}

// Restart stops the bridge and starts a new one on the same HTTP and MQTT
// ports, as an operator restarting the process would. State is lost (it is
// in memory), so channel epochs change.
func (b *Bridge) Restart(t testing.TB) {
	t.Helper()
	httpAddr := strings.TrimPrefix(b.HTTPURL, "http://")
	mqttAddr := strings.TrimPrefix(b.MQTTURL, "tcp://")
	b.Stop()
	cfg := b.Config
	cfg.HTTP.Addr = httpAddr
	cfg.MQTT.Listen = mqttAddr
	b.start(t, cfg)
}

// Token signs a token for user in tenant with the default permissions of
// PROTOCOL.md; mutate adjusts the claims first.
func (b *Bridge) Token(t testing.TB, user, tenant string, mutate ...func(*auth.Claims)) string {
	t.Helper()
	return Token(t, user, tenant, mutate...)
}

// Token signs a token with Secret, issued now and valid for an hour.
func Token(t testing.TB, user, tenant string, mutate ...func(*auth.Claims)) string {
	t.Helper()
	c := auth.Claims{Tenant: tenant}
	c.Subject = user
	now := time.Now()
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	for _, m := range mutate {
		m(&c)
	}
	tok, err := auth.NewHMACSigner([]byte(Secret)).Sign(c)
	require.NoError(t, err)
	return tok
}

// Publish publishes one MQTT message at QoS 1 to the bridge's broker and
// waits for the broker to acknowledge it.
func (b *Bridge) Publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	b.PublishRetained(t, topic, payload, false)
}

// PublishRetained is Publish with the retain flag.
func (b *Bridge) PublishRetained(t testing.TB, topic string, payload []byte, retain bool) {
	t.Helper()
	b.mu.Lock()
	if b.pub == nil || !b.pub.IsConnectionOpen() {
		opts := paho.NewClientOptions().AddBroker(b.MQTTURL).SetClientID(fmt.Sprintf("bridgetest-%d", time.Now().UnixNano())).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.mu.Unlock()
			t.Fatalf("bridgetest: connect publisher to %s: %v", b.MQTTURL, tok.Error())
		}
		b.pub = c
	}
	c := b.pub
	b.mu.Unlock()
	tok := c.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("bridgetest: publish %s: %v", topic, tok.Error())
	}
}

// Eventually polls f until it returns nil or the timeout passes, then fails
// the test with f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 5 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
