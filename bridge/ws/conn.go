package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"syscall"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"golang.org/x/time/rate"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/wire"
)

func errAddrInUse() error { return syscall.EADDRINUSE }

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// conn is one WebSocket connection.
type conn struct {
	srv     *Server
	ws      *websocket.Conn
	sess    *hub.Session
	id      *auth.Identity // nil until connect succeeds
	limiter *rate.Limiter
	limited int // consecutive rate-limited requests
	expiry  *time.Timer
	ctx     context.Context
}

// serveConn is the Fiber handler goroutine: it reads, and nothing else
// writes to the socket except the writer goroutine it starts.
func (s *Server) serveConn(c *websocket.Conn) {
	s.connMu.Lock()
	if s.stopped {
		s.connMu.Unlock()
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(wire.CloseGoingAway, "node draining"), time.Now().Add(time.Second))
		return
	}
	s.conns.Add(1)
	s.connMu.Unlock()
	defer s.conns.Done()
	s.open.Add(1)
	defer s.open.Add(-1)
	m := s.cfg.Metrics
	if m != nil {
		m.Connects.Inc()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cn := &conn{
		srv:     s,
		ws:      c,
		ctx:     ctx,
		sess:    s.cfg.Hub.NewSession("s_"+s.idPrefix+strconv.FormatUint(s.nextID.Add(1), 36)+randomID(4), "", "", s.cfg.Node),
		limiter: rate.NewLimiter(rate.Limit(s.cfg.RequestRate), s.cfg.RequestBurst),
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cn.writeLoop()
	}()
	code := cn.readLoop()
	if sent, ok := cn.sess.CloseCode(); ok {
		// The server closed first (4009, 4003, 4010, 1001…): the reader
		// then only saw the socket go away, but the code sent is the reason.
		code = sent
	}
	if cn.id != nil {
		chans := cn.sess.Channels()
		s.cfg.Hub.Remove(cn.sess)
		s.leavePresence(cn.id.Tenant, cn.sess.ID, chans)
	}
	if cn.expiry != nil {
		cn.expiry.Stop()
	}
	// The reader is done: let the writer flush a pending close frame, then
	// stop it. A writer stuck on a dead peer is bounded by WriteTimeout.
	cn.sess.Close(code, "", false)
	select {
	case <-writerDone:
	case <-time.After(s.cfg.WriteTimeout):
	}
	cancel()
	if code == wire.CloseTooBig {
		lingerClose(c)
	}
	_ = c.Close()
	<-writerDone
	if m != nil {
		m.Disconnects.WithLabelValues(codeLabel(code)).Inc()
	}
}

// readLoop reads frames until the connection ends and returns the close
// code that describes why.
func (cn *conn) readLoop() int {
	s := cn.srv
	c := cn.ws
	c.SetReadLimit(int64(s.cfg.MaxFrameBytes))
	_ = c.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	c.SetPongHandler(func(string) error {
		return c.SetReadDeadline(time.Now().Add(2 * s.cfg.PingInterval))
	})
	m := s.cfg.Metrics
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			return cn.readErrorCode(err)
		}
		if m != nil {
			m.FramesIn.Inc()
			m.BytesIn.Add(float64(len(data)))
		}
		if cn.id != nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * s.cfg.PingInterval))
		}
		if typ != websocket.TextMessage {
			cn.sendError(json.RawMessage("null"), wire.NewError(wire.CodeInvalidRequest, "invalid request: only text frames are used"))
			continue
		}
		if done, code := cn.handleFrame(data); done {
			return code
		}
	}
}

func (cn *conn) readErrorCode(err error) int {
	var ce *fws.CloseError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, websocket.ErrReadLimit):
		return wire.CloseTooBig
	case cn.id == nil && isTimeout(err):
		// PROTOCOL.md "Session start": no connect within the timeout.
		cn.sess.Close(wire.CloseUnauthorized, "connect timeout", false)
		return wire.CloseUnauthorized
	}
	return 1006 // RFC 6455 §7.1.5: closed abnormally
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// writeLoop drains the session into the socket. It is the only goroutine
// that writes data frames; it also sends the keep-alive pings.
func (cn *conn) writeLoop() {
	s := cn.srv
	c := cn.ws
	m := s.cfg.Metrics
	var frames []hub.Frame
	nextPing := time.Now().Add(s.cfg.PingInterval)
	for {
		var err error
		frames, err = cn.sess.NextBefore(cn.ctx, frames[:0], nextPing)
		if err != nil {
			if !errors.Is(err, hub.ErrIdle) {
				return
			}
			// Ping deadline reached with nothing to write.
			if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout)); err != nil {
				_ = c.Close()
				return
			}
			nextPing = time.Now().Add(s.cfg.PingInterval)
			continue
		}
		for _, f := range frames {
			if f.Close {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.Code, f.Reason), time.Now().Add(time.Second))
				// Closing the socket ends the reader too (RFC 6455 §7.1.1
				// lets the server close the TCP connection first).
				_ = c.Close()
				return
			}
			_ = c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if err := c.WriteMessage(websocket.TextMessage, f.Data); err != nil {
				_ = c.Close()
				return
			}
			if m != nil {
				m.FramesOut.Inc()
				m.BytesOut.Add(float64(len(f.Data)))
			}
		}
		clear(frames)
		if time.Now().After(nextPing) {
			if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteTimeout)); err != nil {
				_ = c.Close()
				return
			}
			nextPing = time.Now().Add(s.cfg.PingInterval)
		}
	}
}

// lingerClose discards what the peer is still sending for a moment before
// the socket is closed. Closing a TCP socket with unread input makes the
// kernel send RST, which can destroy the close frame we just sent before
// the peer reads it; a client that overran the frame limit is typically
// still writing (RFC 6455 §7.1.1 asks servers to close cleanly).
func lingerClose(c *websocket.Conn) {
	nc := c.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 16<<10)
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// codeLabel bounds the close-code label: clients may close with any code
// from 3000 to 4999, which must not become a metric series each.
func codeLabel(code int) string {
	switch code {
	case 1000, 1001, 1005, 1006, 1008, 1009, 1011, wire.CloseUnauthorized, wire.CloseSignedOut,
		wire.CloseTooSlow, wire.CloseTokenExpired, wire.CloseRateLimited:
		return strconv.Itoa(code)
	}
	return "other"
}
