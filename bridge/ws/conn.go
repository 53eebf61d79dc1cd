package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
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

// sessionID is a new session's id: the node's prefix, a counter and 4
// random bytes, built in one buffer (one allocation instead of five per
// connect).
func (s *Server) sessionID() string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	var buf [48]byte
	b := append(buf[:0], "s_"...)
	b = append(b, s.idPrefix...)
	b = strconv.AppendUint(b, s.nextID.Add(1), 36)
	b = hex.AppendEncode(b, r[:])
	return string(b)
}

// conn is one WebSocket connection.
type conn struct {
	srv     *Server
	ws      *websocket.Conn
	sess    *hub.Session
	id      *auth.Identity // nil until connect succeeds
	limiter *rate.Limiter
	limited int // consecutive rate-limited requests
	ctx     context.Context
	adm     *admission // released once connected

	// tenant is the tenant's shared limits (tenant_limits.go); set at
	// connect.
	tenant *tenantState

	// lingerMu orders the read deadlines of the closing handshake: the
	// writer sets a short one once the close frame is out (closeSent),
	// the reader a longer one when it starts discarding before that.
	lingerMu  sync.Mutex
	closeSent bool

	// The writer runs only while there is work (see kick): writing says
	// one runs or is starting, and it owns frames and fw meanwhile.
	// writerDone is closed when a writer ends for good (close frame
	// sent, write failed, ctx ended); writing then stays set, so no other
	// starts.
	//
	// A writer ends as soon as the session has nothing for it, instead of
	// lingering for more: a lingering writer cost a timer reset, a
	// three-way select and a park per delivery, and kept a goroutine
	// (a stack for the GC to scan) per busy socket, where starting one
	// reuses a dead goroutine and its stack (issue 10, W1 and W2).
	writing    atomic.Bool
	writerDone chan struct{}
	frames     []hub.Frame
	fw         frameWriter
	// keep is the socket's place on the server's keep-alive wheel
	// (keepalive.go): its pings, read deadline and token expiry.
	keep keepalive
	// pace holds a hot socket's writer back so that its frames go out
	// several per writev (writer-owned; see coalesceWindow). deferred
	// says a writer is due when the window ends, and no writer runs.
	pace     pacer
	deferred atomic.Bool
	// deferAt (the index + 1 of the socket in the writer pool's heap of
	// windows; 0: not in it) and deferEnd (when its window ends, mono)
	// belong to the pool and are guarded by its dmu (pool.go).
	deferAt  int
	deferEnd time.Duration
}

// closeLinger is how long the peer has to answer a close frame.
const closeLinger = time.Second

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
	adm := s.admissionOf(c)
	if adm == nil || !adm.claim() {
		// Not admitted (cannot happen through admit), or admitted so long
		// ago that its place expired: take none without the limits.
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(wire.CloseUnauthorized, "connect timeout"), time.Now().Add(time.Second))
		return
	}
	defer adm.release()
	m := s.cfg.Metrics
	if m != nil {
		m.Connects.Inc()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cn := &conn{
		srv:     s,
		ws:      c,
		adm:     adm,
		ctx:     ctx,
		sess:    s.cfg.Hub.NewSession(s.sessionID(), "", "", s.cfg.Node),
		limiter: rate.NewLimiter(rate.Limit(s.cfg.RequestRate), s.cfg.RequestBurst),

		writerDone: make(chan struct{}),
		fw:         newFrameWriter(c.NetConn(), s.cfg.WriteTimeout),
	}
	cn.sess.SetWaker(cn.kick)
	now := mono()
	s.keep.add(cn, adm.nc, now, now+s.cfg.ConnectTimeout)
	defer s.keep.remove(cn)
	code := cn.readLoop()
	if sent, ok := cn.sess.CloseCode(); ok {
		// The server closed first (4009, 4003, 4010, 1001…): the reader
		// then only saw the socket go away, but the code sent is the reason.
		code = sent
	}
	if cn.id != nil {
		s.connected.Add(-1)
		s.limits.leave(cn.id.Tenant, cn.id.User)
		chans := cn.sess.Channels()
		s.cfg.Hub.Remove(cn.sess)
		s.leavePresence(cn.id.Tenant, cn.sess.ID, chans)
	}
	// The reader is done: let the writer flush a pending close frame, then
	// stop it. A writer stuck on a dead peer is bounded by WriteTimeout.
	cn.sess.Close(code, "", false)
	select {
	case <-cn.writerDone:
	case <-time.After(s.cfg.WriteTimeout):
	}
	cancel()
	if code == wire.CloseTooBig {
		lingerClose(c)
	}
	_ = c.Close()
	<-cn.writerDone
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
	// The read deadline is the connect timeout until connect, then two
	// ping intervals from the last frame or pong: the wheel ends the read
	// when it passes (keepalive.go), instead of a deadline set on the
	// socket for each (a runtime timer moved every frame).
	c.SetPongHandler(func(string) error {
		cn.keep.extendRead(mono() + 2*s.cfg.PingInterval)
		return nil
	})
	// The library's handlers would answer pings and closes from this
	// goroutine; the writer does instead, so that no frame of the
	// writer's writev batches can meet one of them (see frameWriter).
	c.SetPingHandler(func(data string) error {
		cn.sess.Pong([]byte(data))
		return nil
	})
	c.SetCloseHandler(func(code int, _ string) error {
		cn.sess.Close(code, "", false) // the writer echoes the code
		return nil
	})
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			return cn.readErrorCode(err)
		}
		// The frame is read into a pooled buffer rather than a new one
		// each (the library's ReadMessage): nothing keeps a frame's bytes
		// once it is answered (requests copy what they keep, see
		// wire.ParseRequest), and a buffer held only while a frame is
		// answered costs an idle socket nothing (issue 10, W3).
		buf := frameBuffers.Get().(*[]byte)
		data, err := readFrame(r, (*buf)[:0])
		done, code := false, 0
		if err == nil {
			done, code = cn.frame(typ, data)
		}
		if cap(data) <= maxPooledFrame {
			*buf = data[:0]
			frameBuffers.Put(buf)
		}
		if err != nil {
			return cn.readErrorCode(err)
		}
		if done {
			cn.discardUntilClosed()
			return code
		}
	}
}

// frame answers one frame the reader read; done says the connection
// ends, with code (the close frame is queued).
func (cn *conn) frame(typ int, data []byte) (done bool, code int) {
	s := cn.srv
	if m := s.cfg.Metrics; m != nil {
		m.FramesIn.Inc()
		m.BytesIn.Add(float64(len(data)))
	}
	if code, closing := cn.sess.CloseCode(); closing {
		// Closed by the hub (4009), an admin (4003), expiry or drain:
		// answering more requests would only build replies no one
		// sends.
		return true, code
	}
	if cn.id != nil {
		cn.keep.extendRead(mono() + 2*s.cfg.PingInterval)
	} else if done, code := cn.preConnect(data); done {
		return true, code
	}
	if typ != websocket.TextMessage {
		cn.sendError(json.RawMessage("null"), wire.NewError(wire.CodeInvalidRequest, "invalid request: only text frames are used"))
		return false, 0
	}
	// Requests are answered off the reader's stack: answering one
	// (verifying a token, building a snapshot) needs 8 KiB of stack
	// or more, and the runtime would keep that for the reader, which
	// lives as long as the socket and is all an idle socket runs
	// (issue 10, W3: 16 KiB per idle socket in all).
	j := newJob(answer)
	j.cn, j.data = cn, data
	s.requests.run(j)
	done, code = j.done, j.code
	j.release()
	return done, code
}

// answer is the job of a request (conn.frame).
func answer(j *job) {
	if j.cn.id == nil {
		j.done, j.code = j.cn.connectFrame(j.data)
	} else {
		j.done, j.code = j.cn.handleFrame(j.data)
	}
}

// frameBuffers holds the readers' frame buffers (*[]byte) between frames;
// one that grew past maxPooledFrame for a big frame is left to the GC.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledFrame = 16 << 10

// readFrame appends what r has to b, as io.ReadAll does.
func readFrame(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // room for more
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// discardUntilClosed reads and drops what the peer still sends until it
// answers the close frame, or the linger ends: closing a TCP socket with
// unread input makes the kernel send RST, which can destroy the close
// frame before the peer reads it (RFC 6455 §7.1.1: the server closes the
// TCP connection after the closing handshake). A writer still blocked on
// the peer has WriteTimeout to send the close frame.
func (cn *conn) discardUntilClosed() {
	c := cn.ws
	c.SetPongHandler(func(string) error { return nil }) // pongs no longer extend the deadline
	cn.lingerMu.Lock()
	linger := closeLinger
	if !cn.closeSent {
		linger += cn.srv.cfg.WriteTimeout
	}
	cn.keep.readBy.Store(readOff) // the linger is the deadline now
	_ = c.SetReadDeadline(time.Now().Add(linger))
	cn.lingerMu.Unlock()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// preConnect limits a socket that has not connected: its frames, text or
// not, take tokens from the request limiter too, and the first one
// refused closes it with 4029 (a client has one frame to send before
// connect, so there is no grace).
func (cn *conn) preConnect(data []byte) (bool, int) {
	if !cn.limiter.Allow() {
		if m := cn.srv.cfg.Metrics; m != nil {
			m.RateLimited.Inc()
		}
		return cn.fail(requestID(data), "", wire.CodeRateLimited, wire.CloseRateLimited, "rate limit exceeded before connect")
	}
	return false, 0
}

// connectFrame handles a text frame before connect. It takes a place
// under MaxConnections first, so that admitted upgrades cannot connect
// past it; a socket that connected keeps it and leaves the pending
// limits, any other gives it back.
func (cn *conn) connectFrame(data []byte) (bool, int) {
	s := cn.srv
	if s.connected.Add(1) > int64(s.cfg.MaxConnections) {
		s.connected.Add(-1)
		s.reject("limit")
		return cn.fail(requestID(data), "", wire.CodeRateLimited, wire.CloseRateLimited, "connection limit reached")
	}
	done, code := cn.handleFrame(data)
	if cn.id != nil {
		cn.adm.release()
	} else {
		s.connected.Add(-1)
	}
	return done, code
}

// requestID is the id of a request frame, or null.
func requestID(data []byte) json.RawMessage {
	if _, id, _ := wire.ParseRequest(data); len(id) > 0 {
		return id
	}
	return json.RawMessage("null")
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

// kick makes sure a writer runs: it queues the socket for the writer
// pool unless a writer runs or is queued. A hot socket's writer may be
// held back for its coalescing window (deferred); urgent work (a reply, a
// ping or pong, the close) ends that wait at once. It is the session's
// waker (hub.Session.SetWaker).
func (cn *conn) kick(urgent bool) {
	if cn.writing.CompareAndSwap(false, true) {
		cn.startWriter()
	} else if urgent && cn.deferred.CompareAndSwap(true, false) {
		cn.startNow()
	}
}

// startWriter hands the socket, whose writing is set, to the writer pool,
// or to a writer goroutine of its own once the pool has stopped.
func (cn *conn) startWriter() {
	if !cn.srv.writers.push(cn, false) {
		go cn.writeLoop()
	}
}

// startNow is startWriter for a writer that takes its first batch without
// looking at the pace: its coalescing window has ended, or urgent work
// ended it.
func (cn *conn) startNow() {
	if !cn.srv.writers.push(cn, true) {
		go cn.writeNow()
	}
}

// drain is the socket's writer on a pool worker (writerPool): like
// writeLoop it takes what the session has and writes it, but it must not
// block, so the cases that may wait go on on a writer goroutine of the
// socket's own: latest-mode slots not due yet (Take waits for them),
// control frames (the library writes them, waiting on the socket), a
// batch the socket did not take at once (its buffer is full: a slow
// peer), and a socket that cannot write without waiting (not vectored).
// paced says the pace has been looked at already (startNow).
func (cn *conn) drain(paced bool) {
	if !paced && cn.pace.hot() {
		if d := cn.pace.wait(mono()); d > 0 {
			cn.deferFor(d)
			return
		}
	}
	var err error
	cn.frames, err = cn.sess.TakeNow(cn.frames[:0])
	switch {
	case errors.Is(err, hub.ErrNotDue):
		go cn.write(true)
		return
	case err != nil: // hub.ErrIdle
		cn.idle()
		return
	}
	now := mono()
	text := textFrames(cn.frames)
	cn.pace.took(now, text)
	if text < len(cn.frames) || !cn.fw.vectored {
		go cn.finish(now, 0)
		return
	}
	payload, sent, done, err := cn.fw.tryWrite(cn.frames, now)
	if err != nil {
		_ = cn.ws.Close()
		close(cn.writerDone)
		return
	}
	if !done {
		go cn.finish(now, sent)
		return
	}
	if m := cn.srv.cfg.Metrics; m != nil {
		m.FramesOut.Add(float64(text))
		m.BytesOut.Add(float64(payload))
	}
	clear(cn.frames)
	// No second TakeNow to find the session empty, as writeLoop does: one
	// look (Rearm, in idle) tells whether anything came meanwhile, and
	// the socket then queues again, behind the others.
	cn.idle()
}

// idle ends a writer that found nothing more to write. A wake-up since
// the last look at the session found a writer running and started none:
// look again (Rearm, which also lets the next wake-up start a writer),
// and start one unless another wake-up did.
func (cn *conn) idle() {
	if cap(cn.frames) > maxBatch {
		cn.frames = nil // an idle socket does not keep a burst's batch
	}
	cn.writing.Store(false)
	if cn.sess.Rearm() && cn.writing.CompareAndSwap(false, true) {
		cn.startWriter()
	}
}

// finish writes on a goroutine of its own the batch a pool worker took
// (cn.frames) and must not write itself, skip bytes of it being out
// already, and then carries on as writeLoop.
func (cn *conn) finish(now time.Duration, skip int) {
	if !cn.writeFrames(now, skip) {
		close(cn.writerDone)
		return
	}
	cn.write(false)
}

// writeLoop is the socket's writer while there is work: it drains the
// session into the socket, text frames through frameWriter (several per
// writev), and the pings, the pongs the reader hands over
// (hub.Session.Pong) and the close frame through the library. At most
// one runs per socket (kick, and the coalescing window's end), so it is
// the one goroutine that writes to it. It runs on a goroutine of its own
// once the writer pool has stopped; drain hands it what the pool must not
// wait for.
func (cn *conn) writeLoop() { cn.write(false) }

// writeNow is writeLoop that takes its first batch without waiting for
// a coalescing window to end.
func (cn *conn) writeNow() { cn.write(true) }

func (cn *conn) write(now bool) {
	for {
		if !now && cn.pace.hot() {
			if d := cn.pace.wait(mono()); d > 0 {
				cn.deferFor(d)
				return
			}
		}
		now = false
		wrote, ok := cn.writeBatch()
		if !ok {
			close(cn.writerDone)
			return
		}
		if wrote {
			continue // whatever came meanwhile, subject to the pace
		}
		if cap(cn.frames) > maxBatch {
			cn.frames = nil // an idle socket does not keep a burst's batch
		}
		cn.writing.Store(false)
		// A wake-up since the last look at the session found a writer
		// running and started none: look again, and carry on unless
		// another writer took over.
		if !cn.sess.Rearm() || !cn.writing.CompareAndSwap(false, true) {
			return
		}
	}
}

// deferFor ends this writer and has another start once d has passed: a
// hot socket's frames gather meanwhile and go out together. writing stays
// set, so deliveries only queue; deferred lets the window's end (the
// writer pool's pace goroutine), or urgent work (kick), start the next
// writer, whichever claims it first.
func (cn *conn) deferFor(d time.Duration) {
	// deferred is set before the pool can end the window, or the window
	// could end with nothing to claim and no writer would follow.
	cn.deferred.Store(true)
	if !cn.srv.writers.deferUntil(cn, mono()+d) {
		// The pool has stopped: take the window back, unless urgent work
		// already started the next writer, and keep a timer of the
		// socket's own.
		if !cn.deferred.CompareAndSwap(true, false) {
			return
		}
		cn.deferOwn(d)
	}
	// Urgent work that came after the last batch was taken and before
	// deferred was set found no window to end (kick): end it here.
	if cn.sess.UrgentPending() && cn.deferred.CompareAndSwap(true, false) {
		cn.startNow()
	}
}

// deferOwn is deferFor's window on a timer of the socket's own, once the
// writer pool has stopped; its callback (windowEnded) becomes the writer.
func (cn *conn) deferOwn(d time.Duration) {
	if cn.pace.timer == nil {
		// Created stopped, before deferred is set: the writer that claims
		// deferred may read the field, never while it is written.
		cn.pace.timer = time.AfterFunc(time.Hour, cn.windowEnded)
		cn.pace.timer.Stop()
	}
	t := cn.pace.timer
	cn.deferred.Store(true)
	t.Reset(d)
}

// windowOver ends the socket's coalescing window for the writer pool's
// pace goroutine: the next writer starts, unless urgent work started it
// already (or the window was a stale one that ended late).
func (cn *conn) windowOver() {
	if cn.deferred.CompareAndSwap(true, false) {
		cn.startNow()
	}
}

// windowEnded is the callback of the socket's own coalescing timer
// (deferOwn): its goroutine becomes the writer unless urgent work already
// started one (a late timer of an earlier window then finds nothing to
// claim).
func (cn *conn) windowEnded() {
	if cn.deferred.CompareAndSwap(true, false) {
		cn.write(true)
	}
}

// textFrames counts the text frames of a batch.
func textFrames(frames []hub.Frame) int {
	text := 0
	for _, f := range frames {
		if !f.Close && !f.Ping && !f.Pong {
			text++
		}
	}
	return text
}

// writeBatch takes what the session has (hub.Session.Take) and writes it.
// wrote says it wrote something (look again); ok is false when the
// connection is done: the close frame is out, a write failed or the
// connection's context ended.
func (cn *conn) writeBatch() (wrote, ok bool) {
	var err error
	cn.frames, err = cn.sess.Take(cn.ctx, cn.frames[:0])
	if err != nil {
		return false, errors.Is(err, hub.ErrIdle)
	}
	// One clock read per batch: the pace and the write deadline share it.
	now := mono()
	cn.pace.took(now, textFrames(cn.frames))
	return true, cn.writeFrames(now, 0)
}

// writeFrames writes the batch in cn.frames, skip bytes of its first text
// frames being out already (drain's tryWrite), and reports false when
// the connection is done: the close frame is out or a write failed.
func (cn *conn) writeFrames(now time.Duration, skip int) bool {
	s := cn.srv
	c := cn.ws
	m := s.cfg.Metrics
	frames := cn.frames
	for i := 0; i < len(frames); {
		f := frames[i]
		if f.Close {
			// 1006 and 1015 only describe a close; RFC 6455 §7.4.1
			// forbids sending them (a peer gone silent past its ping
			// deadline is counted as 1006 and just disconnected).
			// 1005 (the peer's close had no code) is answered with a
			// close frame without one.
			if f.Code != 1006 && f.Code != 1015 {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.Code, f.Reason), time.Now().Add(time.Second))
				cn.fw.forgetDeadline()
			}
			// The reader waits closeLinger for the peer's answer,
			// then serveConn closes the socket.
			cn.lingerMu.Lock()
			cn.closeSent = true
			cn.keep.readBy.Store(readOff) // the wheel's deadline ends here
			_ = c.SetReadDeadline(time.Now().Add(closeLinger))
			cn.lingerMu.Unlock()
			return false
		}
		if f.Ping || f.Pong {
			typ, what := websocket.PongMessage, f.Data
			if f.Ping {
				typ, what = websocket.PingMessage, nil
			}
			err := c.WriteControl(typ, what, time.Now().Add(s.cfg.WriteTimeout))
			cn.fw.forgetDeadline() // the library set its own
			if err != nil {
				_ = c.Close()
				return false
			}
			i++
			continue
		}
		// The text frames up to the next control frame go out
		// together (writev).
		j := i + 1
		for j < len(frames) && !frames[j].Close && !frames[j].Pong && !frames[j].Ping {
			j++
		}
		// now is as recent as the write deadline needs: text runs are
		// apart only by control frames, and each of those makes the next
		// run set its deadline afresh (forgetDeadline).
		n, err := cn.fw.write(frames[i:j], now, skip)
		skip = 0
		if err != nil {
			_ = c.Close()
			return false
		}
		if m != nil {
			m.FramesOut.Add(float64(j - i))
			m.BytesOut.Add(float64(n))
		}
		i = j
	}
	clear(frames)
	return true
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
