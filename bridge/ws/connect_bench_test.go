package ws_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// BenchmarkSessionStart is W3's session start (issue 10) in one process:
// each op dials a WebSocket, sends connect with a token and subscribe to
// an empty device channel, and waits for both results; the sockets stay
// open, as W3's do. cpu-µs/op is the process's CPU (server and client
// together, from getrusage) per session start, a figure that survives a
// shared machine better than ns/op; the client's share does not change
// with the server.
func BenchmarkSessionStart(b *testing.B) {
	v, err := auth.NewHMAC([]byte(bridgetest.Secret))
	require.NoError(b, err)
	m := metrics.New(prometheus.NewRegistry())
	srv, err := ws.New("127.0.0.1:0", ws.Config{Node: "n1", Verifier: v, Metrics: m,
		Hub: hub.New(hub.Config{Metrics: m}), Store: state.NewMemory(state.Config{}),
		MaxConnections: 1 << 20, MaxPending: 1 << 20, MaxPendingPerAddress: 1 << 20})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	url := "ws://" + srv.Addr() + "/ws"
	hello := []byte(`{"jsonrpc":"2.0","id":1,"method":"connect","params":{"client":"bench","token":"` + bridgetest.Token(b, "bench", "acme") + `"}}`)
	var mu sync.Mutex
	var conns []*websocket.Conn
	b.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
		cancel()
		require.NoError(b, <-done)
	})
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	call := func(c *websocket.Conn, frame []byte) {
		if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
			b.Error(err)
			return
		}
		if _, msg, err := c.ReadMessage(); err != nil || len(msg) == 0 || msg[len(msg)-1] != '}' || !bytes.Contains(msg, []byte(`"result"`)) {
			b.Errorf("%s: %v", msg, err)
		}
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	before := cpuTime()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c, _, err := d.Dial(url, http.Header{})
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			call(c, hello)
			i++
			call(c, []byte(`{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"device:bench-`+strconv.Itoa(i%64)+`"}}`))
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "starts/s")
}

// cpuTime is the process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
