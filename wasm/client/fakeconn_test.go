//go:build !js

package client

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scriptTransport is an in-memory Transport for frame-handling tests: the
// test plays the server by reading the frames the client sent and feeding
// replies through the connection's handler. Integration tests against the
// real bridge live in package nativews.
type scriptTransport struct {
	dials chan *scriptConn
}

func newScriptTransport() *scriptTransport {
	return &scriptTransport{dials: make(chan *scriptConn, 16)}
}

func (s *scriptTransport) Dial(url string, protocols []string, h ConnHandler) Conn {
	c := &scriptConn{url: url, protocols: protocols, h: h, sent: make(chan string, 64)}
	s.dials <- c
	return c
}

type scriptConn struct {
	url       string
	protocols []string
	h         ConnHandler
	sent      chan string
	// syncPing is the ping the client sends right after connect (to
	// estimate its clock offset); handshake takes it off sent.
	syncPing Value
	mu       sync.Mutex
	closed   bool
}

func (c *scriptConn) Send(text string) error { c.sent <- text; return nil }

func (c *scriptConn) Close(int, string) { c.mu.Lock(); c.closed = true; c.mu.Unlock() }

func (c *scriptConn) isClosed() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.closed }

const waitFor = 5 * time.Second

func (s *scriptTransport) nextDial(t *testing.T) *scriptConn {
	t.Helper()
	select {
	case c := <-s.dials:
		return c
	case <-time.After(waitFor):
		t.Fatal("no dial")
	}
	return nil
}

func (s *scriptTransport) noDial(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.dials:
		t.Fatal("unexpected dial")
	case <-time.After(d):
	}
}

// next returns the next frame the client sent, parsed.
func (c *scriptConn) next(t *testing.T) Value {
	t.Helper()
	select {
	case f := <-c.sent:
		v, err := StdCodec{}.Parse(f)
		require.NoError(t, err, f)
		return v
	case <-time.After(waitFor):
		t.Fatal("no frame sent")
	}
	return nil
}

func (c *scriptConn) reply(id Value, result string) {
	c.h.Message(`{"jsonrpc":"2.0","id":` + strconv.FormatInt(int64(id.Float()), 10) + `,"result":` + result + `}`)
}

func (c *scriptConn) replyErr(id Value, code int, msg string) {
	c.h.Message(`{"jsonrpc":"2.0","id":` + strconv.FormatInt(int64(id.Float()), 10) +
		`,"error":{"code":` + strconv.Itoa(code) + `,"message":"` + msg + `"}}`)
}

// events collects a client's events for assertions.
type events struct{ ch chan Event }

func (e *events) on(ev Event) { e.ch <- ev }

// wait returns the first event matching pred, skipping others.
func (e *events) wait(t *testing.T, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case ev := <-e.ch:
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("event not seen")
		}
	}
}

func kind(k EventKind) func(Event) bool { return func(e Event) bool { return e.Kind == k } }

type harness struct {
	c  *Client
	tr *scriptTransport
	ev *events
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{tr: newScriptTransport(), ev: &events{ch: make(chan Event, 4096)}}
	cfg := Config{
		URL: "ws://test/ws", Token: "tok1", Transport: h.tr, Codec: StdCodec{},
		MinReconnectDelay: 5, MaxReconnectDelay: 50, Timeout: 2000, OnEvent: h.ev.on,
		Rand: func(int64) int64 { return 0 }, Table: NewDeviceTable(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	h.c = c
	t.Cleanup(func() {
		c.Close()
		select {
		case <-c.Done():
		case <-time.After(waitFor):
			t.Error("client did not stop")
		}
	})
	return h
}

// handshake answers the connect request on a fresh connection and takes
// the clock-sync ping that follows it (left unanswered: without an offset
// estimate the client measures no latency).
func (h *harness) handshake(t *testing.T, wantToken string) *scriptConn {
	t.Helper()
	conn := h.tr.nextDial(t)
	require.Equal(t, []string{Protocol}, conn.protocols)
	conn.h.Open()
	req := conn.next(t)
	require.Equal(t, "connect", str(req, "method"))
	require.Equal(t, "2.0", str(req, "jsonrpc"))
	require.Equal(t, wantToken, str(req.Get("params"), "token"))
	conn.reply(req.Get("id"), `{"session":"s1","node":"n","user":"u","tenant":"t","ping_interval_ms":25000}`)
	h.ev.wait(t, kind(EvConnected))
	conn.syncPing = conn.next(t)
	require.Equal(t, "ping", str(conn.syncPing, "method"))
	return conn
}

// wait polls cond until it holds or the deadline passes.
func wait(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// result collects one Done callback.
type result struct {
	ch chan struct {
		v   Value
		err error
	}
}

func newResult() *result {
	return &result{ch: make(chan struct {
		v   Value
		err error
	}, 1)}
}

func (r *result) done(v Value, err error) {
	r.ch <- struct {
		v   Value
		err error
	}{v, err}
}

func (r *result) get(t *testing.T) (Value, error) {
	t.Helper()
	select {
	case x := <-r.ch:
		return x.v, x.err
	case <-time.After(waitFor):
		t.Fatal("no result")
	}
	return nil, nil
}
