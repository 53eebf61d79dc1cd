package bridgetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
)

// Frame is one frame received by a Client.
type Frame struct {
	Raw    []byte
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *wire.Error     `json:"error"`
}

// Client is a dashboard protocol client written from PROTOCOL.md alone,
// over a real WebSocket. A reader goroutine buffers every frame; Pause
// stops it reading from the socket, to play a slow consumer.
type Client struct {
	t    testing.TB
	Conn *websocket.Conn

	mu        sync.Mutex
	frames    []Frame
	notify    chan struct{}
	closed    bool
	closeCode int
	readErr   error
	nextID    int
	gate      chan struct{} // closed = reading; replaced while paused
	done      chan struct{}
}

// Dial opens a WebSocket to url offering the mqlive.v1 subprotocol.
func Dial(t testing.TB, url string) *Client {
	t.Helper()
	c, err := DialProtocols(t, url, []string{wire.Subprotocol})
	require.NoError(t, err)
	return c
}

// DialProtocols dials offering the given subprotocols (none when empty).
func DialProtocols(t testing.TB, url string, protocols []string) (*Client, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: protocols}
	conn, resp, err := d.Dial(url, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c := &Client{t: t, Conn: conn, notify: make(chan struct{}, 1), gate: make(chan struct{}), done: make(chan struct{})}
	close(c.gate)
	go c.read()
	t.Cleanup(c.Close)
	return c, nil
}

func (c *Client) read() {
	defer close(c.done)
	for {
		c.mu.Lock()
		gate := c.gate
		c.mu.Unlock()
		<-gate
		_, data, err := c.Conn.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.closed = true
			c.readErr = err
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode = ce.Code
			} else {
				c.closeCode = websocket.CloseAbnormalClosure
			}
			c.mu.Unlock()
			c.signal()
			return
		}
		var f Frame
		_ = json.Unmarshal(data, &f)
		f.Raw = data
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		c.signal()
	}
}

func (c *Client) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Pause stops reading from the socket; Resume starts again.
func (c *Client) Pause() {
	c.mu.Lock()
	c.gate = make(chan struct{})
	c.mu.Unlock()
}

// Resume undoes Pause.
func (c *Client) Resume() {
	c.mu.Lock()
	select {
	case <-c.gate:
	default:
		close(c.gate)
	}
	c.mu.Unlock()
}

// Close closes the socket.
func (c *Client) Close() {
	_ = c.Conn.Close()
	c.Resume()
	<-c.done
}

// SendRaw writes one text frame.
func (c *Client) SendRaw(frame []byte) {
	c.t.Helper()
	require.NoError(c.t, c.Conn.WriteMessage(websocket.TextMessage, frame))
}

// Request sends a request and returns its id.
func (c *Client) Request(method string, params any) string {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	require.NoError(c.t, err)
	c.SendRaw(b)
	return strconv.Itoa(id)
}

// Call sends a request and waits for its response, leaving notifications
// that arrive meanwhile buffered.
func (c *Client) Call(method string, params any) (json.RawMessage, *wire.Error) {
	c.t.Helper()
	id := c.Request(method, params)
	f := c.WaitResponse(id, 10*time.Second)
	return f.Result, f.Error
}

// MustCall is Call that fails the test on an error response.
func (c *Client) MustCall(method string, params any, result any) {
	c.t.Helper()
	raw, rerr := c.Call(method, params)
	require.Nil(c.t, rerr, "%s: %v", method, rerr)
	if result != nil {
		require.NoError(c.t, json.Unmarshal(raw, result))
	}
}

// Connect authenticates.
func (c *Client) Connect(token string) wire.ConnectResult {
	c.t.Helper()
	var res wire.ConnectResult
	c.MustCall(wire.MethodConnect, wire.ConnectParams{Token: token, Client: "bridgetest"}, &res)
	return res
}

// WaitResponse takes the response with the given id out of the buffer,
// waiting up to timeout.
func (c *Client) WaitResponse(id string, timeout time.Duration) Frame {
	c.t.Helper()
	f, ok := c.take(timeout, func(f Frame) bool { return f.Method == "" && string(f.ID) == id })
	if !ok {
		c.t.Fatalf("no response to request %s within %v (closed=%v code=%d)", id, timeout, c.closed, c.closeCode)
	}
	return f
}

// Next takes the oldest buffered frame, waiting up to timeout.
func (c *Client) Next(timeout time.Duration) (Frame, bool) {
	return c.take(timeout, func(Frame) bool { return true })
}

// NextMessage takes the next message notification.
func (c *Client) NextMessage(timeout time.Duration) (wire.Publication, bool) {
	f, ok := c.take(timeout, func(f Frame) bool { return f.Method == wire.MethodMessage })
	if !ok {
		return wire.Publication{}, false
	}
	var p wire.Publication
	require.NoError(c.t, json.Unmarshal(f.Params, &p))
	return p, true
}

// take removes and returns the first buffered frame matching keep.
func (c *Client) take(timeout time.Duration, keep func(Frame) bool) (Frame, bool) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for i, f := range c.frames {
			if keep(f) {
				c.frames = append(c.frames[:i], c.frames[i+1:]...)
				c.mu.Unlock()
				return f, true
			}
		}
		closed := c.closed
		c.mu.Unlock()
		left := time.Until(deadline)
		if closed || left <= 0 {
			return Frame{}, false
		}
		select {
		case <-c.notify:
		case <-time.After(left):
		}
	}
}

// Buffered returns a copy of every frame received and not yet taken.
func (c *Client) Buffered() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// WaitClosed waits for the server to close the connection and returns the
// close code (1006 when it closed without a close frame).
func (c *Client) WaitClosed(timeout time.Duration) (int, bool) {
	select {
	case <-c.done:
	case <-time.After(timeout):
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, true
}
