package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// TestSlowPeersDoNotHoldUpTheWriterPool: more peers than the pool has
// workers stop reading while a channel gets far more than their socket
// buffers hold; a peer that reads still gets every publication, in
// order, long before the write timeout would free a waiting worker. A
// pool whose workers waited on a full socket would give it nothing.
func TestSlowPeersDoNotHoldUpTheWriterPool(t *testing.T) {
	ls := startLimits(t, ws.Config{WriteTimeout: time.Minute})
	slow := runtime.GOMAXPROCS(0) + 1
	conns := make([]*websocket.Conn, slow+1)
	for i := range conns {
		conns[i] = dialConnected(t, ls.url)
	}
	fast := conns[slow]
	fast.SetReadLimit(1 << 20)
	var sessions []*hub.Session
	require.Eventually(t, func() bool {
		sessions = ls.hub.Sessions()
		return len(sessions) == len(conns)
	}, 5*time.Second, 10*time.Millisecond)
	for _, sess := range sessions {
		sub, err := ls.hub.Subscribe(context.Background(), sess, "app:x", hub.SubOptions{})
		require.NoError(t, err)
		sess.Recover(sub, nil, wire.StreamPosition{}, nil)
	}

	const n = 120 // × 200 KiB: 24 MiB per socket, past any loopback buffer
	data := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 200<<10)...), '"')
	go func() {
		for i := range n {
			ls.hub.Deliver(sessions[0].Tenant, state.NewPublication("app:x", "e1", uint64(i+1), data, nil, time.Now()))
		}
	}()
	_ = fast.SetReadDeadline(time.Now().Add(30 * time.Second))
	var msg struct {
		Params wire.Publication `json:"params"`
	}
	for i := range n {
		_, got, err := fast.ReadMessage()
		require.NoError(t, err, "publication %d of %d", i, n)
		require.NoError(t, json.Unmarshal(got, &msg))
		require.Equal(t, uint64(i+1), msg.Params.Offset, "publication "+strconv.Itoa(i))
	}
}

// TestPoolWritesAfterAControlFrameDeadline: the library sets the socket's
// write deadline for each control frame (a ping here, every 100 ms, with
// a 50 ms write timeout); a publication the pool writes after that
// deadline has passed goes out all the same instead of failing the
// socket. A pool write that left an old deadline in place closed the
// socket (1006) on its first publication after the first ping.
func TestPoolWritesAfterAControlFrameDeadline(t *testing.T) {
	ls := startLimits(t, ws.Config{WriteTimeout: 50 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	conn := dialConnected(t, ls.url)
	sess := ls.onlySession(t)
	sub, err := ls.hub.Subscribe(context.Background(), sess, "app:x", hub.SubOptions{})
	require.NoError(t, err)
	sess.Recover(sub, nil, wire.StreamPosition{}, nil)
	const n = 12
	go func() {
		for i := range n {
			time.Sleep(70 * time.Millisecond) // pings come between publications
			ls.hub.Deliver(sess.Tenant, state.NewPublication("app:x", "e1", uint64(i+1), []byte(strconv.Itoa(i)), nil, time.Now()))
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var msg struct {
		Params wire.Publication `json:"params"`
	}
	for i := range n {
		_, got, err := conn.ReadMessage() // answers the pings
		require.NoError(t, err, "publication %d of %d", i, n)
		require.NoError(t, json.Unmarshal(got, &msg))
		require.Equal(t, uint64(i+1), msg.Params.Offset)
	}
}

// TestHotSocketWindowsStartNoGoroutines: a socket published to every
// 5 ms is hot, so its writer takes one batch per coalescing window; the
// writer pool ends those windows and writes the batches, so the windows
// start no goroutine. A timer per socket (time.AfterFunc) started one per
// window, and the write then ran on it, off the pool: about 50k goroutine
// starts a second in W1 at 30 msg/s.
func TestHotSocketWindowsStartNoGoroutines(t *testing.T) {
	ls, conn, sess := subscribedSocket(t, "app:x")
	const n = 300 // 1.5 s: about 15 windows
	go func() {
		for i := range n {
			ls.hub.Deliver(sess.Tenant, appPub(i))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	before := created[0].Value.Uint64()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var msg struct {
		Params wire.Publication `json:"params"`
	}
	var batches batchCounter
	for i := range n {
		_, got, err := conn.ReadMessage()
		require.NoError(t, err, "publication %d", i)
		batches.read()
		require.NoError(t, json.Unmarshal(got, &msg))
		require.Equal(t, uint64(i+1), msg.Params.Offset)
	}
	metrics.Read(created)
	started := created[0].Value.Uint64() - before
	t.Logf("%d batches, %d goroutines started", batches.n, started)
	require.Less(t, batches.n, n/3, "the socket was hot: its publications came in batches")
	require.Less(t, 2*started, uint64(batches.n), "the windows started goroutines")
}
