package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
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
	return "ws://" + srv.Addr() + "/ws"
}

func TestConnectTimeoutCloses4001(t *testing.T) {
	url := start(t, ws.Config{ConnectTimeout: 300 * time.Millisecond})
	c := bridgetest.Dial(t, url)
	code, ok := c.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseUnauthorized, code)
}

func TestSilentClientIsClosedAfterTwoPingIntervals(t *testing.T) {
	url := start(t, ws.Config{PingInterval: 200 * time.Millisecond})
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	conn, _, err := d.Dial(url, http.Header{})
	require.NoError(t, err)
	defer conn.Close()
	pings := 0
	conn.SetPingHandler(func(string) error { pings++; return nil }) // never answer
	tok := bridgetest.Token(t, "alice", "acme")
	require.NoError(t, conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect", "params": map[string]string{"token": tok}}))
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			break
		}
	}
	require.GreaterOrEqual(t, pings, 1, "the server pings")
	require.Less(t, time.Since(start), 3*time.Second, "a client that does not answer pings is closed")
}

func TestAnsweringClientStaysConnected(t *testing.T) {
	url := start(t, ws.Config{PingInterval: 100 * time.Millisecond})
	c := bridgetest.Dial(t, url) // the library answers pings
	c.Connect(bridgetest.Token(t, "alice", "acme"))
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		c.MustCall("ping", nil, nil)
		time.Sleep(50 * time.Millisecond)
	}
	_, closed := c.WaitClosed(10 * time.Millisecond)
	require.False(t, closed)
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
