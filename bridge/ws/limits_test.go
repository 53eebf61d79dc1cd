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

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
	"github.com/mqlive/mqlive/devices"
)

// limitsServer is a running ws.Server with the parts a limits test looks at.
type limitsServer struct {
	srv *ws.Server
	url string
	hub *hub.Hub
	m   *metrics.Metrics
	mem *state.Memory
}

// startLimits runs a bare ws.Server on loopback; cfg.Hub may be set.
func startLimits(t *testing.T, cfg ws.Config) *limitsServer {
	t.Helper()
	v, err := auth.NewHMAC([]byte(bridgetest.Secret))
	require.NoError(t, err)
	m := metrics.New(prometheus.NewRegistry())
	cfg.Verifier, cfg.Metrics = v, m
	if cfg.Hub == nil {
		cfg.Hub = hub.New(hub.Config{Metrics: m})
	}
	mem := state.NewMemory(state.Config{})
	cfg.Store = mem
	cfg.Node = "n1"
	srv, err := ws.New("127.0.0.1:0", cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return &limitsServer{srv: srv, url: "ws://" + srv.Addr() + "/ws", hub: cfg.Hub, m: m, mem: mem}
}

// onlySession waits for the server's one session.
func (ls *limitsServer) onlySession(t *testing.T) *hub.Session {
	t.Helper()
	var sess *hub.Session
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if ss := ls.hub.Sessions(); len(ss) == 1 {
			sess = ss[0]
			return nil
		}
		return fmt.Errorf("%d sessions, want 1", len(ls.hub.Sessions()))
	})
	return sess
}

// dialIdle upgrades with extra headers and never connects; the status is
// the HTTP status of a refused upgrade (0 when it succeeded).
func dialIdle(t *testing.T, url string, h http.Header) (*websocket.Conn, int) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{wire.Subprotocol}}
	conn, resp, err := d.Dial(url, h)
	if err != nil {
		require.NotNil(t, resp, "dial: %v", err)
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, 0
}

// waitPending waits until the server counts n pending sockets.
func waitPending(t *testing.T, srv *ws.Server, n int) {
	t.Helper()
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if got := srv.Pending(); got != n {
			return fmt.Errorf("%d pending, want %d", got, n)
		}
		return nil
	})
}

func forwardedFor(addr string) http.Header {
	return http.Header{"X-Forwarded-For": {addr}}
}

// TestUnreadSnapshotsClose4009: a client that asks for the devices
// snapshot of a large tenant 40 times a second and never reads is closed
// with 4009, and what the node queues for it meanwhile stays bounded
// (issue 11: 825 MiB in 30 s, never disconnected).
func TestUnreadSnapshotsClose4009(t *testing.T) {
	ls := startLimits(t, ws.Config{WriteTimeout: 30 * time.Second})
	now := time.Now().UTC()
	for i := 0; i < 2000; i++ {
		r := devices.Reading{Device: "th-" + strconv.Itoa(i), Family: "zigbee2mqtt", TS: now, ReceivedAt: now,
			Metrics: map[string]any{"temperature": 21.5, "humidity": 48.2, "battery": 97.0, "linkquality": 120.0},
			Attrs:   map[string]string{"model": "WSDCGQ11LM"}}
		require.NoError(t, ls.mem.Apply(context.Background(), "acme", &r, state.Meta{Tags: map[string]string{"site": "hq"}}))
	}
	c := bridgetest.Dial(t, ls.url)
	c.Connect(bridgetest.Token(t, "alice", "acme"))
	sess := ls.onlySession(t)
	var snapshot []byte
	{
		id := c.Request(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"})
		snapshot = c.WaitResponse(id, 10*time.Second).Raw
	}
	require.Greater(t, len(snapshot), 300_000, "the snapshot is large")
	c.Pause()

	start := time.Now()
	tick := time.NewTicker(25 * time.Millisecond) // 40 requests a second, as in issue 11
	defer tick.Stop()
	maxQueued := 0
	for n := 0; ; n++ {
		code, closed := sess.CloseCode()
		if closed {
			require.Equal(t, wire.CloseTooSlow, code)
			break
		}
		maxQueued = max(maxQueued, sess.QueuedReplyBytes())
		require.Less(t, time.Since(start), 30*time.Second, "never closed; %d bytes queued", sess.QueuedReplyBytes())
		frame := []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(1000+n) + `,"method":"subscribe","params":{"channel":"devices"}}`)
		require.NoError(t, c.Conn.WriteMessage(websocket.TextMessage, frame))
		<-tick.C
	}
	t.Logf("closed 4009 after %v; at most %d bytes of replies queued", time.Since(start).Round(time.Millisecond), maxQueued)
	require.LessOrEqual(t, maxQueued, hub.DefaultMaxQueuedReplyBytes+len(snapshot))
	require.Zero(t, sess.QueuedReplyBytes(), "the close frees what was queued")
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.SlowConsumers))

	// The client, reading again, gets what was already on its way, then
	// the notice and the close frame.
	c.Resume()
	code, ok := c.WaitClosed(20 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseTooSlow, code)
	bridgetest.Eventually(t, 10*time.Second, func() error {
		if n := ls.hub.Len(); n != 0 {
			return fmt.Errorf("%d sessions", n)
		}
		return nil
	})
}

// TestIdleUpgradesDoNotLockOutDashboards: sockets that upgrade and never
// connect are limited on their own; more of them than max_connections do
// not keep a dashboard from connecting (issue 11: 10,000 idle upgrades
// locked every dashboard out).
func TestIdleUpgradesDoNotLockOutDashboards(t *testing.T) {
	ls := startLimits(t, ws.Config{MaxConnections: 3, MaxPending: 100, MaxPendingPerAddress: 8,
		TrustedProxies: []string{"127.0.0.1"}})
	for i := 0; i < 8; i++ {
		_, status := dialIdle(t, ls.url, forwardedFor("203.0.113.7"))
		require.Zero(t, status, "idle upgrade %d is admitted", i)
	}
	_, status := dialIdle(t, ls.url, forwardedFor("203.0.113.7"))
	require.Equal(t, http.StatusServiceUnavailable, status, "one address past its pending cap")
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.Rejected.WithLabelValues("pending_address")))
	require.Equal(t, 8, ls.srv.Pending())
	// Each upgraded socket's handler took its admission at once: none is
	// left in the server's map while the sockets wait to connect.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if n := ws.Admitted(ls.srv); n != 0 {
			return fmt.Errorf("%d admissions unclaimed", n)
		}
		return nil
	})

	// Three dashboards (from the proxy itself, and from other clients
	// behind it) connect although 8 idle sockets are open.
	bridgetest.Dial(t, ls.url).Connect(bridgetest.Token(t, "alice", "acme"))
	for _, addr := range []string{"198.51.100.1", "2001:db8::1"} {
		conn, status := dialIdle(t, ls.url, forwardedFor(addr))
		require.Zero(t, status)
		require.NoError(t, conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect",
			"params": map[string]string{"token": bridgetest.Token(t, "bob", "acme")}}))
		var resp struct {
			Result *wire.ConnectResult `json:"result"`
		}
		require.NoError(t, conn.ReadJSON(&resp))
		require.NotNil(t, resp.Result, "a dashboard behind the proxy connects")
	}
	waitPending(t, ls.srv, 8) // connected sockets are no longer pending

	// max_connections bounds connected sockets: a fourth is refused at
	// upgrade, and one already upgraded is refused at connect.
	_, status = dialIdle(t, ls.url, nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.Rejected.WithLabelValues("limit")))
}

func TestUpgradedSocketRefusedAtConnectPastMaxConnections(t *testing.T) {
	ls := startLimits(t, ws.Config{MaxConnections: 1})
	a, b := bridgetest.Dial(t, ls.url), bridgetest.Dial(t, ls.url)
	a.Connect(bridgetest.Token(t, "alice", "acme"))
	_, rerr := b.Call(wire.MethodConnect, wire.ConnectParams{Token: bridgetest.Token(t, "bob", "acme")})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeRateLimited, rerr.Code)
	code, ok := b.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseRateLimited, code)
	waitPending(t, ls.srv, 0)
}

func TestPendingCapPerNode(t *testing.T) {
	ls := startLimits(t, ws.Config{MaxPending: 4, MaxPendingPerAddress: 100})
	var idle []*websocket.Conn
	for i := 0; i < 4; i++ {
		conn, status := dialIdle(t, ls.url, nil)
		require.Zero(t, status)
		idle = append(idle, conn)
	}
	_, status := dialIdle(t, ls.url, nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, 1.0, testutil.ToFloat64(ls.m.Rejected.WithLabelValues("pending")))

	// A pending socket that goes away gives its place back.
	require.NoError(t, idle[0].Close())
	waitPending(t, ls.srv, 3)
	bridgetest.Dial(t, ls.url).Connect(bridgetest.Token(t, "alice", "acme"))
	waitPending(t, ls.srv, 3)
}

// TestForwardedForIgnoredWithoutTrustedProxy: a client cannot escape its
// per-address cap by writing X-Forwarded-For itself.
func TestForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	ls := startLimits(t, ws.Config{MaxPendingPerAddress: 3})
	for i := 0; i < 3; i++ {
		_, status := dialIdle(t, ls.url, forwardedFor("198.51.100."+strconv.Itoa(i)))
		require.Zero(t, status)
	}
	_, status := dialIdle(t, ls.url, forwardedFor("198.51.100.99"))
	require.Equal(t, http.StatusServiceUnavailable, status)
}

// TestPreConnectFloodClosed: frames before connect are rate limited too;
// before, a socket could send unparsable frames at full speed for the 10 s
// connect timeout, each answered with -32700.
func TestPreConnectFloodClosed(t *testing.T) {
	for _, typ := range []int{websocket.TextMessage, websocket.BinaryMessage} {
		t.Run(strconv.Itoa(typ), func(t *testing.T) {
			ls := startLimits(t, ws.Config{RequestRate: 5, RequestBurst: 10})
			c := bridgetest.Dial(t, ls.url)
			start := time.Now()
			for i := 0; i < 200; i++ {
				if err := c.Conn.WriteMessage(typ, []byte("{not json")); err != nil {
					break // closed by the server
				}
			}
			code, ok := c.WaitClosed(5 * time.Second)
			require.True(t, ok, "a pre-connect flood is closed")
			require.Equal(t, wire.CloseRateLimited, code)
			require.Less(t, time.Since(start), 5*time.Second, "long before the connect timeout")
			require.GreaterOrEqual(t, testutil.ToFloat64(ls.m.RateLimited), 1.0)
		})
	}
}
