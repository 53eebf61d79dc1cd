package ws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}

// start runs a bare ws.Server (no MQTT) on loopback with cfg's timings.
func start(t *testing.T, cfg ws.Config) string {
	t.Helper()
	url, _ := startWithMetrics(t, cfg)
	return url
}

// startWithMetrics is start, also returning the server's metrics.
func startWithMetrics(t *testing.T, cfg ws.Config) (string, *metrics.Metrics) {
	t.Helper()
	srv := startServer(t, cfg)
	return srv.url, srv.m
}

// testServer is a running ws.Server; stop ends its context (it drains),
// and the test's cleanup waits for Run to return.
type testServer struct {
	url, addr string
	m         *metrics.Metrics
	stop      context.CancelFunc
}

func startServer(t *testing.T, cfg ws.Config) *testServer {
	t.Helper()
	v, err := auth.NewHMAC([]byte(bridgetest.Secret))
	require.NoError(t, err)
	m := metrics.New(prometheus.NewRegistry())
	cfg.Verifier, cfg.Metrics = v, m
	cfg.Hub = hub.New(hub.Config{Metrics: m})
	cfg.Store = state.NewMemory(state.Config{})
	cfg.Node = "n1"
	srv, err := ws.New("127.0.0.1:0", cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return &testServer{url: "ws://" + srv.Addr() + "/ws", addr: srv.Addr(), m: m, stop: cancel}
}

// rawConn is a WebSocket that sends nothing but connect: it counts the
// server's pings, answers them with pongs only when answer is set, and
// never sends a JSON frame after connect.
type rawConn struct {
	conn   *websocket.Conn
	pings  atomic.Int32
	ended  chan struct{}
	err    error // why reading ended; read after ended is closed
	closed time.Time
}

func dialRaw(t *testing.T, url string, answer bool) (*rawConn, time.Time) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	conn, _, err := d.Dial(url, http.Header{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	r := &rawConn{conn: conn, ended: make(chan struct{})}
	conn.SetPingHandler(func(data string) error {
		r.pings.Add(1)
		if !answer {
			return nil
		}
		// What the library's default handler does: a pong echoing the data.
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	tok := bridgetest.Token(t, "alice", "acme")
	sent := time.Now()
	require.NoError(t, conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect", "params": map[string]string{"token": tok}}))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), `"session"`, "connect failed: %s", msg)
	go func() {
		defer close(r.ended)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				r.err, r.closed = err, time.Now()
				return
			}
		}
	}()
	return r, sent
}

func TestConnectTimeoutCloses4001(t *testing.T) {
	url := start(t, ws.Config{ConnectTimeout: 300 * time.Millisecond})
	c := bridgetest.Dial(t, url)
	code, ok := c.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseUnauthorized, code)
}

func TestSilentClientIsClosedAfterTwoPingIntervals(t *testing.T) {
	const interval = 200 * time.Millisecond
	url, m := startWithMetrics(t, ws.Config{PingInterval: interval})
	c, connected := dialRaw(t, url, false) // never answers pings
	select {
	case <-c.ended:
	case <-time.After(10 * interval):
		t.Fatalf("a client that does not answer pings is still open after %v", 10*interval)
	}
	// The server's read deadline is two intervals after the connect frame
	// it read, which was after we sent it.
	lived := c.closed.Sub(connected)
	require.GreaterOrEqual(t, lived, 2*interval, "closed before two ping intervals of silence")
	require.GreaterOrEqual(t, c.pings.Load(), int32(1), "the server pings before giving up")
	// The server ended the connection, not our side: a close frame or EOF.
	var ne net.Error
	require.False(t, errors.As(c.err, &ne) && ne.Timeout(), "read ended by our own deadline: %v", c.err)
	// It counts the disconnect as a ping timeout: closed abnormally (1006,
	// RFC 6455 §7.1.5), and no other code.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if got := testutil.ToFloat64(m.Disconnects.WithLabelValues("1006")); got != 1 {
			return fmt.Errorf("disconnects{code=1006} = %v, want 1", got)
		}
		return nil
	})
	require.Equal(t, 1, testutil.CollectAndCount(m.Disconnects), "one disconnect code recorded")
}

func TestAnsweringClientStaysConnected(t *testing.T) {
	const interval = 100 * time.Millisecond
	url := start(t, ws.Config{PingInterval: interval})
	// Only pongs: after connect the client sends no JSON frame, which would
	// also extend the server's read deadline.
	c, _ := dialRaw(t, url, true)
	// Eight pings answered span four times the two-interval timeout.
	bridgetest.Eventually(t, 10*time.Second, func() error {
		select {
		case <-c.ended:
			return nil // reported below
		default:
		}
		if n := c.pings.Load(); n < 8 {
			return fmt.Errorf("%d pings so far", n)
		}
		return nil
	})
	select {
	case <-c.ended:
		t.Fatalf("a client answering pings was closed after %d pings: %v", c.pings.Load(), c.err)
	default:
	}
}

// TestDrainClosesInWavesAndRefusesNewClients stops a server with 20
// clients: they are told 1001 in waves over half the drain timeout, not all
// at once, and meanwhile /readyz and new upgrades get HTTP 503.
func TestDrainClosesInWavesAndRefusesNewClients(t *testing.T) {
	const (
		n            = 20
		drainTimeout = 2 * time.Second // waves over 1s: one every 100ms
	)
	srv := startServer(t, ws.Config{DrainTimeout: drainTimeout})
	tok := bridgetest.Token(t, "alice", "acme")
	type closed struct {
		at   time.Time
		code int
		ok   bool
	}
	results := make(chan closed, n)
	for i := 0; i < n; i++ {
		c := bridgetest.Dial(t, srv.url)
		c.Connect(tok)
		go func() {
			code, ok := c.WaitClosed(3 * drainTimeout)
			results <- closed{time.Now(), code, ok}
		}()
	}
	resp, err := http.Get("http://" + srv.addr + "/readyz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	srv.stop()
	first := <-results
	require.True(t, first.ok, "no client was closed")
	// The first wave is out and the others are pending: the node is
	// draining. (Errors, not fatal: the wave checks below say more when
	// the drain was over already.)
	if resp, err := http.Get("http://" + srv.addr + "/readyz"); err != nil {
		t.Errorf("readyz while draining: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("readyz while draining: HTTP %d %s, want 503", resp.StatusCode, body)
		}
	}
	if _, err := bridgetest.DialProtocols(t, srv.url, []string{wire.Subprotocol}); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("a new client while draining: %v, want HTTP 503", err)
	}

	times := []time.Time{first.at}
	require.Equal(t, wire.CloseGoingAway, first.code)
	for i := 1; i < n; i++ {
		r := <-results
		require.True(t, r.ok, "client not closed within %v", 3*drainTimeout)
		require.Equal(t, wire.CloseGoingAway, r.code, "a draining node says 1001")
		times = append(times, r.at)
	}
	// Not all at once: the first wave is a tenth of the clients, and the
	// last one is closed most of the wave period after the first.
	burst := 0
	for _, at := range times {
		if at.Sub(first.at) < 50*time.Millisecond {
			burst++
		}
	}
	require.LessOrEqual(t, burst, n/4, "%d of %d clients closed in the first 50ms", burst, n)
	var last time.Time
	for _, at := range times {
		if at.After(last) {
			last = at
		}
	}
	require.Greater(t, last.Sub(first.at), drainTimeout/4, "the waves span the drain period")
}

func TestConnectionLimit(t *testing.T) {
	url := start(t, ws.Config{MaxConnections: 2})
	for i := 0; i < 2; i++ {
		// A completed connect proves the server counts the socket.
		bridgetest.Dial(t, url).Connect(bridgetest.Token(t, "alice", "acme"))
	}
	_, err := bridgetest.DialProtocols(t, url, []string{wire.Subprotocol})
	require.ErrorContains(t, err, "HTTP 503")
}

func TestRateLimit(t *testing.T) {
	url := start(t, ws.Config{RequestRate: 1, RequestBurst: 5})
	c := bridgetest.Dial(t, url)
	c.Connect(bridgetest.Token(t, "alice", "acme"))
	limited := 0
	for i := 0; i < 8; i++ {
		if _, rerr := c.Call("ping", nil); rerr != nil {
			require.Equal(t, wire.CodeRateLimited, rerr.Code)
			limited++
		}
	}
	require.GreaterOrEqual(t, limited, 2)
	// Sustained abuse closes the connection with 4029; once it is closed,
	// writes fail, which is expected here.
	for i := 0; i < 10; i++ {
		frame := []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(100+i) + `,"method":"ping"}`)
		if err := c.Conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			break
		}
	}
	code, ok := c.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseRateLimited, code)
}

func TestClientCloseCodesAreBoundedLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	v, err := auth.NewHMAC([]byte(bridgetest.Secret))
	require.NoError(t, err)
	srv, err := ws.New("127.0.0.1:0", ws.Config{Verifier: v, Metrics: m, Hub: hub.New(hub.Config{Metrics: m}), Store: state.NewMemory(state.Config{})})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	for _, code := range []int{4321, 3999, 1000} {
		c := bridgetest.Dial(t, "ws://"+srv.Addr()+"/ws")
		require.NoError(t, c.Conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second)))
		_, ok := c.WaitClosed(5 * time.Second)
		require.True(t, ok)
	}
	bridgetest.Eventually(t, 5*time.Second, func() error {
		other, normal := testutil.ToFloat64(m.Disconnects.WithLabelValues("other")), testutil.ToFloat64(m.Disconnects.WithLabelValues("1000"))
		if other != 2 || normal != 1 {
			return fmt.Errorf("other: %v, 1000: %v; want 2 and 1", other, normal)
		}
		return nil
	})
}
