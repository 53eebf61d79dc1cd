package mqttws

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

// Path is where MQTT over WebSocket is served.
const Path = "/mqtt"

// Subprotocol is the WebSocket subprotocol of MQTT (3.1.1 and 5).
const Subprotocol = "mqtt"

// Broker serves one MQTT client on a connection until it disconnects
// (embedded.Broker).
type Broker interface {
	ServeConn(c net.Conn) error
}

// Config configures the route.
type Config struct {
	// Broker serves the connections; required.
	Broker Broker
	// AllowedOrigins lists the browser origins allowed to connect; empty
	// allows any (http.allowed_origins).
	AllowedOrigins []string
	// Rejected, when set, counts a refused upgrade by reason
	// ("not_upgrade", "subprotocol").
	Rejected func(reason string)
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// localKey is the Fiber local that carries, from the check to the
// upgraded handler, whether the request came straight from this machine.
const localKey = "mqttws.local"

// Register adds the /mqtt route to r.
func Register(r fiber.Router, cfg Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reject := func(reason string) {
		if cfg.Rejected != nil {
			cfg.Rejected(reason)
		}
	}
	r.Use(Path, func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			reject("not_upgrade")
			return c.Status(fiber.StatusUpgradeRequired).SendString("expected a WebSocket upgrade offering the mqtt subprotocol (MQTT over WebSocket)\n")
		}
		if !offers(c.Get(fiber.HeaderSecWebSocketProtocol), Subprotocol) {
			reject("subprotocol")
			return c.Status(fiber.StatusBadRequest).SendString("MQTT over WebSocket needs the mqtt subprotocol: send Sec-WebSocket-Protocol: mqtt\n")
		}
		c.Locals(localKey, direct(c))
		return c.Next()
	})
	r.Get(Path, websocket.New(func(ws *websocket.Conn) {
		local, _ := ws.Locals(localKey).(bool)
		conn := NewConn(ws.Conn, !local)
		if err := cfg.Broker.ServeConn(conn); err != nil && !errors.Is(err, io.EOF) {
			cfg.Logger.Debug("mqtt over websocket ended", "remote", ws.RemoteAddr().String(), "err", err)
		}
	}, websocket.Config{
		Subprotocols:     []string{Subprotocol},
		Origins:          cfg.AllowedOrigins,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		HandshakeTimeout: 10 * time.Second,
	}))
}

// direct reports whether the request reached us from this machine's own
// software rather than on behalf of someone else: no proxy header, and no
// browser Origin other than the host the request was sent to.
func direct(c *fiber.Ctx) bool {
	if c.Get(fiber.HeaderXForwardedFor) != "" || c.Get("Forwarded") != "" {
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, string(c.Request().Host()))
}

func offers(header, proto string) bool {
	for _, p := range strings.Split(header, ",") {
		if strings.TrimSpace(p) == proto {
			return true
		}
	}
	return false
}

// wsConn is what Conn needs of a WebSocket (fasthttp/websocket's Conn).
type wsConn interface {
	NextReader() (int, io.Reader, error)
	WriteMessage(messageType int, data []byte) error
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// ErrTextFrame is returned by Read when the peer sends a text frame: MQTT
// over WebSocket is binary only [MQTT-6.0.0-1], and the broker then drops
// the client.
var ErrTextFrame = errors.New("mqttws: text frame; MQTT over WebSocket uses binary frames")

// Conn is a WebSocket seen as a byte stream: MQTT packets may span frames
// and a frame may hold several packets [MQTT-6.0.0-2], so Read drains one
// binary frame after another and Write sends each call as one frame.
type Conn struct {
	ws      wsConn
	relayed bool
	r       io.Reader // the frame being read; nil between frames

	// wmu serialises writes, the write deadline and Close: the WebSocket
	// allows one writer, mochi sets deadlines from the reading goroutine,
	// and may still write to a client it is disconnecting after the
	// connection was handed back and closed.
	wmu    sync.Mutex
	closed bool // guarded by wmu and dmu: either lock reads it
	// dmu guards wdl, the write deadline, which Write applies (setting it
	// never waits for a write in progress), and the read deadline, which
	// Close sets in the past.
	dmu sync.Mutex
	wdl time.Time
}

// NewConn wraps ws. relayed marks a connection that is not from this
// machine's own software (see Relayed).
func NewConn(ws wsConn, relayed bool) *Conn { return &Conn{ws: ws, relayed: relayed} }

// Relayed reports whether the connection came through a proxy or from a
// web page of another origin; the broker then does not admit it
// anonymously even though its peer is loopback (embedded.Relayed).
func (c *Conn) Relayed() bool { return c.relayed }

// Read reads from the current binary frame, moving to the next one when it
// is drained. It is not safe for concurrent readers.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			kind, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if kind != websocket.BinaryMessage {
				return 0, ErrTextFrame
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Write sends p as one binary frame. After Close it fails with
// net.ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.dmu.Lock()
	dl := c.wdl
	c.dmu.Unlock()
	if err := c.ws.SetWriteDeadline(dl); err != nil {
		return 0, err
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the underlying connection without a close frame (the MQTT
// DISCONNECT, or its absence, says why), after any write in progress. The
// connection Fiber hijacked ignores Close (Fiber closes it when the handler
// returns), so Close also ends a blocked Read with a read deadline in the
// past, which later deadlines do not move.
func (c *Conn) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return errors.Join(c.ws.SetReadDeadline(time.Unix(1, 0)), c.ws.Close())
}

func (c *Conn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// SetReadDeadline sets the deadline of reads; after Close it does nothing.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	return c.ws.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline of the following writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return nil
}

// SetDeadline sets both deadlines (mochi sets it from the keep-alive).
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}
