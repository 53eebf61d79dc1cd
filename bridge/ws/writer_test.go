package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// TestBatchedFramesArriveIntact: frames the server writes several per
// writev (with headers it builds itself) are read by a real WebSocket
// client whole and in order, in every length form of RFC 6455 §5.2 (7-bit,
// 16-bit after 126, 64-bit after 127, and the edges between them), while
// the client pings all along and gets its pongs: control frames from the
// same writer never land inside a batch.
func TestBatchedFramesArriveIntact(t *testing.T) {
	ls := startLimits(t, ws.Config{})
	conn := dialConnected(t, ls.url)
	conn.SetReadLimit(1 << 20)
	sess := ls.onlySession(t)

	sizes := []int{0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 65537, 200_000}
	for i := 0; len(sizes) < 1000; i++ {
		sizes = append(sizes, 10+i%300) // many small frames: long batches
	}
	want := make([][]byte, len(sizes))
	for i, n := range sizes {
		// Every frame is unique and says where it belongs.
		f := []byte(strconv.Itoa(i) + ":")
		for len(f) < n {
			f = append(f, byte('a'+(i+len(f))%26))
		}
		want[i] = f[:max(n, len(strconv.Itoa(i))+1)]
	}
	var pongs atomic.Int32
	conn.SetPongHandler(func(string) error { pongs.Add(1); return nil })
	stopPings := make(chan struct{})
	pinged := make(chan int)
	go func() {
		n := 0
		defer func() { pinged <- n }()
		for {
			select {
			case <-stopPings:
				return
			default:
			}
			if conn.WriteControl(websocket.PingMessage, []byte("p"+strconv.Itoa(n)), time.Now().Add(time.Second)) != nil {
				return
			}
			n++
			time.Sleep(200 * time.Microsecond)
		}
	}()
	for _, f := range want {
		sess.Send(f)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range want {
		typ, got, err := conn.ReadMessage()
		require.NoError(t, err, "frame %d", i)
		require.Equal(t, websocket.TextMessage, typ)
		require.True(t, bytes.Equal(want[i], got), "frame %d (%d bytes): got %d bytes starting %q", i, len(want[i]), len(got), got[:min(len(got), 12)])
	}
	close(stopPings)
	sent := <-pinged
	require.Positive(t, sent)
	// The pongs of the last pings come after the data: read until they have.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _, _ = conn.ReadMessage() // runs the pong handler
		if got := pongs.Load(); got == 0 {
			return fmt.Errorf("no pong for %d pings", sent)
		}
		return nil
	})
	// The writer counts a batch once it is written, which may be after
	// the client has read it.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if got, want := testutil.ToFloat64(ls.m.FramesOut), float64(1+len(want)); got != want {
			return fmt.Errorf("frames_out %v, want %v (the connect result and the batch)", got, want)
		}
		return nil
	})
}

// TestCloseIsEchoedByWriter: the peer's close frame is answered with the
// same code by the writer goroutine (the reader no longer writes it), and
// a close without a code with a close without one.
func TestCloseIsEchoedByWriter(t *testing.T) {
	ls := startLimits(t, ws.Config{})
	for _, code := range []int{websocket.CloseNormalClosure, 4321, websocket.CloseNoStatusReceived} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			conn := dialConnected(t, ls.url)
			payload := websocket.FormatCloseMessage(code, "bye")
			if code == websocket.CloseNoStatusReceived {
				payload = nil
			}
			require.NoError(t, conn.WriteControl(websocket.CloseMessage, payload, time.Now().Add(time.Second)))
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				_, _, err := conn.ReadMessage()
				if err == nil {
					continue
				}
				var ce *websocket.CloseError
				require.ErrorAs(t, err, &ce, "%v", err)
				require.Equal(t, code, ce.Code)
				require.False(t, strings.Contains(ce.Text, "bye"))
				break
			}
		})
	}
}

// dialConnected opens a WebSocket and completes connect on it.
func dialConnected(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	conn, _, err := d.Dial(url, http.Header{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect",
		"params": map[string]string{"token": bridgetest.Token(t, "alice", "acme")}}))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), `"session"`)
	return conn
}

// TestUpgradeWithBigCookies: a browser's upgrade request with 3 KiB of
// cookies and its usual headers fits the server's read buffer (which it
// gives back after the upgrade), and the socket then works.
func TestUpgradeWithBigCookies(t *testing.T) {
	ls := startLimits(t, ws.Config{})
	h := http.Header{
		"User-Agent":               {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		"Origin":                   {"http://" + strings.TrimPrefix(strings.TrimSuffix(ls.url, "/ws"), "ws://")},
		"Accept-Language":          {"en-US,en;q=0.9,de;q=0.8"},
		"Accept-Encoding":          {"gzip, deflate, br, zstd"},
		"Cache-Control":            {"no-cache"},
		"Pragma":                   {"no-cache"},
		"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits"},
	}
	var cookies []string
	for i := 0; len(strings.Join(cookies, "; ")) < 3000; i++ {
		cookies = append(cookies, "c"+strconv.Itoa(i)+"="+strings.Repeat("v", 90))
	}
	h.Set("Cookie", strings.Join(cookies, "; "))
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	conn, resp, err := d.Dial(ls.url, h)
	if resp != nil {
		_ = resp.Body.Close()
	}
	require.NoError(t, err, "upgrade with %d bytes of cookies", len(h.Get("Cookie")))
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect",
		"params": map[string]string{"token": bridgetest.Token(t, "alice", "acme")}}))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), `"session"`)
}

// TestHotSocketGetsEveryFrameInOrder: publications sent to a socket
// faster than hotGap make its writer hold batches back for the coalescing
// window; every one still arrives, in order, a reply sent among them is
// not held back with them, and the session's close frame follows the
// last of them.
func TestHotSocketGetsEveryFrameInOrder(t *testing.T) {
	ls, conn, sess := subscribedSocket(t, "app:x")
	const n = 150
	const reply = n / 2
	var replied atomic.Int64 // mono ns when the reply was queued
	go func() {
		for i := range n {
			ls.hub.Deliver(sess.Tenant, appPub(i))
			if i == reply {
				replied.Store(time.Now().UnixNano())
				sess.Send([]byte(`{"reply":true}`))
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Closing drops the publications still queued (a held batch
		// among them): give the last window time to end first.
		time.Sleep(500 * time.Millisecond)
		sess.Close(4321, "done", false)
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var msg struct {
		Params wire.Publication `json:"params"`
		Reply  bool             `json:"reply"`
	}
	// Frames read less than 2 ms apart came in one batch, mostly: without
	// the window, frames sent 5 ms apart would come one by one.
	var batches batchCounter
	for i := 0; i < n; {
		_, got, err := conn.ReadMessage()
		require.NoError(t, err, "frame %d", i)
		batches.read()
		msg.Reply = false
		require.NoError(t, json.Unmarshal(got, &msg))
		if msg.Reply {
			// Urgent work ends a window: the reply does not wait for the
			// publications' next batch (100 ms), though a busy machine
			// may delay any frame.
			waited := time.Since(time.Unix(0, replied.Load()))
			t.Logf("reply after %v", waited)
			continue
		}
		require.Equal(t, uint64(i+1), msg.Params.Offset, "publication %d", i)
		i++
	}
	_, _, err := conn.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 4321, ce.Code)
	require.Less(t, batches.n, n/2, "the hot socket's publications were written in batches")
}

// batchCounter counts the batches a socket's frames come in: a frame read
// more than 2 ms after the one before starts one.
type batchCounter struct {
	n    int
	last time.Time
}

// read counts a frame just read.
func (b *batchCounter) read() {
	now := time.Now()
	if now.Sub(b.last) > 2*time.Millisecond {
		b.n++
	}
	b.last = now
}

// TestHotSocketUnderMixedTraffic: publications every 2 ms keep a socket
// hot while replies and pings arrive from other goroutines, so urgent
// wake-ups race the coalescing timer for the next writer: every
// publication arrives once and in order, every reply arrives, and nothing
// is left behind (the race detector checks the hand-offs).
func TestHotSocketUnderMixedTraffic(t *testing.T) {
	ls, conn, sess := subscribedSocket(t, "app:x")
	const pubs, replies = 400, 60
	go func() {
		for i := range pubs {
			ls.hub.Deliver(sess.Tenant, appPub(i))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	go func() {
		for i := range replies {
			sess.Send([]byte(`{"reply":` + strconv.Itoa(i) + `}`))
			sess.Ping()
			time.Sleep(13 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var msg struct {
		Params wire.Publication `json:"params"`
		Reply  *int             `json:"reply"`
	}
	next, gotReplies := uint64(1), 0
	for next <= pubs || gotReplies < replies {
		_, got, err := conn.ReadMessage()
		require.NoError(t, err, "after publication %d and %d replies", next-1, gotReplies)
		msg.Reply = nil
		require.NoError(t, json.Unmarshal(got, &msg))
		if msg.Reply != nil {
			require.Equal(t, gotReplies, *msg.Reply, "replies in order")
			gotReplies++
			continue
		}
		require.Equal(t, next, msg.Params.Offset, "publications in order, none twice")
		next++
	}
}

// subscribedSocket is a connected socket whose session subscribes to
// channel, live (no recovery).
func subscribedSocket(t *testing.T, channel string) (*limitsServer, *websocket.Conn, *hub.Session) {
	t.Helper()
	ls := startLimits(t, ws.Config{})
	conn := dialConnected(t, ls.url)
	sess := ls.onlySession(t)
	sub, err := ls.hub.Subscribe(context.Background(), sess, channel, hub.SubOptions{})
	require.NoError(t, err)
	sess.Recover(sub, nil, wire.StreamPosition{}, nil)
	return ls, conn, sess
}

// appPub is the i-th publication (offset i+1) of app:x.
func appPub(i int) *state.Publication {
	return state.NewPublication("app:x", "e1", uint64(i+1), []byte(strconv.Itoa(i)), nil, time.Now())
}
