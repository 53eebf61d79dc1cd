//go:build !js

package nativews

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/mqlive/mqlive/wasm/client"
)

// Transport dials with fasthttp/websocket.
type Transport struct {
	// HandshakeTimeout bounds the opening handshake; default 10 s. The
	// client's own connect timeout usually fires first.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one frame write; default 10 s.
	WriteTimeout time.Duration
}

var _ client.Transport = Transport{}

// New returns a client that uses this package's Transport, client.StdCodec
// and a client.DeviceTable unless cfg sets its own.
func New(cfg client.Config) (*client.Client, error) {
	if cfg.Transport == nil {
		cfg.Transport = Transport{}
	}
	if cfg.Codec == nil {
		cfg.Codec = client.StdCodec{}
	}
	if cfg.Table == nil {
		cfg.Table = client.NewDeviceTable()
	}
	return client.New(cfg)
}

// Dial implements client.Transport. Like a browser WebSocket, a failed dial
// reports an error and then close code 1006.
func (t Transport) Dial(url string, protocols []string, h client.ConnHandler) client.Conn {
	if t.HandshakeTimeout <= 0 {
		t.HandshakeTimeout = 10 * time.Second
	}
	if t.WriteTimeout <= 0 {
		t.WriteTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{h: h, cancel: cancel, writeTimeout: t.WriteTimeout}
	d := websocket.Dialer{HandshakeTimeout: t.HandshakeTimeout, Subprotocols: protocols}
	go c.run(ctx, d, url)
	return c
}

type conn struct {
	h            client.ConnHandler
	cancel       context.CancelFunc
	writeTimeout time.Duration

	mu     sync.Mutex // guards ws, closed and writes
	ws     *websocket.Conn
	closed bool
}

func (c *conn) run(ctx context.Context, d websocket.Dialer, url string) {
	ws, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		c.h.Error(err.Error())
		c.h.Closed(1006, "")
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ws.Close()
		return
	}
	c.ws = ws
	c.mu.Unlock()
	c.h.Open()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			code, reason := 1006, ""
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, reason = ce.Code, ce.Text
			}
			_ = ws.Close()
			c.h.Closed(code, reason)
			return
		}
		if typ == websocket.TextMessage {
			c.h.Message(string(data))
		}
	}
}

// Send implements client.Conn.
func (c *conn) Send(text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ws == nil {
		return client.ErrConnectionLost
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, []byte(text))
}

// Close implements client.Conn: it sends a close frame (RFC 6455 §5.5.1)
// and closes the socket, which ends the reader goroutine.
func (c *conn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.cancel()
	if c.ws != nil {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		_ = c.ws.Close()
	}
}
