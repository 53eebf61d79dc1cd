package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// handshakeTimeout bounds a socket's upgrade, connect and subscribe.
const handshakeTimeout = 15 * time.Second

// fleet is the load generator's WebSocket subscribers and what they
// received. Every subscriber has one goroutine reading its socket.
type fleet struct {
	log   *slog.Logger
	clock time.Time // origin of the publisher's send stamps (monotonic)
	subs  []*subscriber
	steps []*stepStats // indexed by the step stamped in the payload (1-based)

	wg          sync.WaitGroup
	closing     atomic.Bool
	lagged      atomic.Int64 // lagged notifications
	disconnects atomic.Int64 // sockets the server closed or lost
	badFrames   atomic.Int64 // frames that did not parse, or a message on the wrong channel
	firstDrop   sync.Once
}

// subscriber is one WebSocket subscribed to one channel.
type subscriber struct {
	conn    *websocket.Conn
	channel []byte
	last    int64 // offset of the last delivery, for duplicates and order
}

// stepStats is what one sweep step received.
type stepStats struct {
	hist     histogram
	received atomic.Int64
	dups     atomic.Int64 // deliveries at or below the last offset seen
	late     atomic.Int64 // deliveries after the step's drain ended: lost
	closed   atomic.Bool
}

func newFleet(log *slog.Logger, clock time.Time, n, steps int) *fleet {
	f := &fleet{log: log, clock: clock, subs: make([]*subscriber, n), steps: make([]*stepStats, steps+1)}
	for i := range f.steps {
		f.steps[i] = &stepStats{}
	}
	return f
}

// dialers returns one WebSocket dialer per source address 127.0.0.1..n.
// A bound source address gets its own ephemeral port range, so 20k sockets
// to one server port do not run out of ports (or into TIME_WAIT of an
// earlier run). Small buffers: the frames are under 1 KiB and the load
// generator holds tens of thousands of sockets on the server's machine.
func dialers(n int) []*websocket.Dialer {
	pool := &sync.Pool{}
	ds := make([]*websocket.Dialer, n)
	for i := range ds {
		local := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i)}), 0)
		ds[i] = &websocket.Dialer{
			NetDialContext:   literalDialer(local),
			HandshakeTimeout: handshakeTimeout,
			Subprotocols:     []string{protocol.Subprotocol},
			ReadBufferSize:   2048,
			WriteBufferSize:  512,
			WriteBufferPool:  pool,
		}
	}
	return ds
}

// literalDialer dials TCP from local. The WebSocket URL's host is always
// an IP literal here (loopbackHost rewrites localhost), yet
// net.Dialer.DialContext sends even a literal through the resolver, whose
// lookupIPAddr and the stack growth its frames cause were an eighth of the
// generator's CPU per connect (W3 profile); Dialer.DialTCP takes the
// parsed address and skips both. A host name still goes the usual way.
// No dial timeout of its own: the library's HandshakeTimeout context
// already bounds the dial, and a second deadline context per socket costs
// a timer. No TCP keepalive: the sockets live for one run on loopback,
// where a probe would never be sent, and turning it on costs four
// setsockopt calls per socket, a tenth of the generator's system calls per
// connect.
func literalDialer(local netip.AddrPort) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{KeepAlive: -1, LocalAddr: net.TCPAddrFromAddrPort(local)}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		remote, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nd.DialContext(ctx, network, addr)
		}
		return nd.DialTCP(ctx, network, local, remote)
	}
}

// connect opens the sockets: concurrency workers each upgrade, connect
// with token and subscribe to channelOf(i), one socket after another, and
// start one reader goroutine per subscribed socket. A worker's stack grows
// once to what the dial path needs and serves every socket it opens; with
// a goroutine per socket that dialled and then stayed on to read, every
// socket paid for growing (copying) its stack and kept the grown stack
// while it only read. It stops at the first failure: a benchmark with
// missing sockets measures something else.
func (f *fleet) connect(ctx context.Context, url, token string, ds []*websocket.Dialer, concurrency int, channelOf func(int) string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hello, err := connectRequest(token)
	if err != nil {
		return err
	}
	// One subscribe frame and one name per channel, shared by its sockets.
	type channel struct{ name, frame []byte }
	channels := map[string]channel{}
	of := make([]channel, len(f.subs))
	for i := range of {
		name := channelOf(i)
		c, ok := channels[name]
		if !ok {
			frame, err := subscribeRequest(name)
			if err != nil {
				return err
			}
			c = channel{name: []byte(name), frame: frame}
			channels[name] = c
		}
		of[i] = c
	}
	var next atomic.Int64
	var workers sync.WaitGroup
	for range min(concurrency, len(f.subs)) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var buf []byte
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(f.subs) {
					return
				}
				conn, res, b, err := open(ctx, ds[i%len(ds)], url, hello, of[i].frame, buf)
				buf = b
				if err != nil {
					cancel(fmt.Errorf("socket %d: %w", i+1, err))
					return
				}
				s := &subscriber{conn: conn, channel: of[i].name, last: res.Offset}
				f.subs[i] = s
				f.wg.Add(1)
				go f.read(s)
			}
		}()
	}
	workers.Wait()
	return context.Cause(ctx)
}

// subscribeResult is the part of a subscribe result the load generator uses.
type subscribeResult struct {
	Offset   int64             `json:"offset"`
	Snapshot []json.RawMessage `json:"snapshot"`
	// readings says whether the snapshot holds any; set by call, which
	// may read the result without decoding the snapshot.
	readings bool
}

// Request ids of the session start (PROTOCOL.md "Session start").
const (
	idConnect   = 1
	idSubscribe = 2
)

// connectRequest is the connect frame every socket sends: built once, as
// every socket carries the same token.
func connectRequest(token string) ([]byte, error) {
	return json.Marshal(request{JSONRPC: "2.0", ID: idConnect, Method: protocol.MethodConnect,
		Params: map[string]string{"token": token, "client": "mqlive-sim-load"}})
}

// request is a JSON-RPC request of the load generator.
type request struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      int               `json:"id"`
	Method  string            `json:"method"`
	Params  map[string]string `json:"params"`
}

// subscribeRequest is the subscribe frame for one channel.
func subscribeRequest(channel string) ([]byte, error) {
	return json.Marshal(request{JSONRPC: "2.0", ID: idSubscribe, Method: protocol.MethodSubscribe, Params: map[string]string{"channel": channel}})
}

// open dials one socket and runs connect (hello, from connectRequest) and
// subscribe (sub, from subscribeRequest), each waiting for its result as a
// client does (PROTOCOL.md "Session start" and "Subscribe"). buf is the
// caller's reusable read buffer, returned grown as needed.
func open(ctx context.Context, d *websocket.Dialer, url string, hello, sub, buf []byte) (*websocket.Conn, subscribeResult, []byte, error) {
	var res subscribeResult
	conn, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			err = fmt.Errorf("%w: HTTP %d %s", err, resp.StatusCode, bytes.TrimSpace(body))
		}
		return nil, res, buf, err
	}
	// One deadline for the whole session start, cleared once subscribed.
	deadline := time.Now().Add(handshakeTimeout)
	_ = conn.SetWriteDeadline(deadline)
	_ = conn.SetReadDeadline(deadline)
	if buf, err = call(conn, idConnect, protocol.MethodConnect, hello, nil, buf); err != nil {
		conn.Close()
		return nil, res, buf, err
	}
	if buf, err = call(conn, idSubscribe, protocol.MethodSubscribe, sub, &res, buf); err != nil {
		conn.Close()
		return nil, res, buf, err
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn, res, buf, nil
}

// response is a JSON-RPC response; Result is decoded into what the caller
// gives (nil: checked as JSON, not kept).
type response struct {
	ID     *int `json:"id"`
	Result any  `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends one request frame and waits for the response with its id,
// skipping anything else the server sends first. A compact success
// response is read without decoding (fastResult); anything else is
// decoded once, its result straight into result. Frames are read into
// buf, returned (grown as needed) for the next call: a socket's session
// start then allocates no read buffers of its own.
func call(conn *websocket.Conn, id int, method string, frame []byte, result *subscribeResult, buf []byte) ([]byte, error) {
	if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		return buf, fmt.Errorf("%s: %w", method, err)
	}
	for {
		_, r, err := conn.NextReader()
		if err == nil {
			buf, err = readAll(r, buf[:0])
		}
		if err != nil {
			return buf, fmt.Errorf("%s: %w", method, err)
		}
		if fastResult(buf, id, result) {
			return buf, nil
		}
		var into any = &json.RawMessage{}
		if result != nil {
			into = result
		}
		resp := response{Result: into}
		if err := json.Unmarshal(buf, &resp); err != nil {
			return buf, fmt.Errorf("%s: bad frame %.80q: %w", method, buf, err)
		}
		switch {
		case resp.ID == nil || *resp.ID != id:
			continue
		case resp.Error != nil:
			return buf, fmt.Errorf("%s: error %d: %s", method, resp.Error.Code, resp.Error.Message)
		}
		if result != nil {
			result.readings = len(result.Snapshot) > 0
		}
		return buf, nil
	}
}

var (
	// resultPrefix[id] starts the bridge's compact success response to
	// request id (wire.Response: jsonrpc, id, result in that order).
	resultPrefix = [...][]byte{
		idConnect:   []byte(`{"jsonrpc":"2.0","id":1,"result":{`),
		idSubscribe: []byte(`{"jsonrpc":"2.0","id":2,"result":{`),
	}
	keySnapshot = []byte(`"snapshot":`)
)

// fastResult reads a compact success response to request id without
// decoding it: the connect result is not used, and of a subscribe result
// only the offset and whether the snapshot holds readings are (decoding
// the snapshot's readings was a tenth of the generator's CPU per
// connect). It returns false for anything else (another id, an error, a
// frame spelled differently), which call then decodes in full. As in
// fastMessage, a match of `"key":` is always a key; the offset is looked
// for only before the snapshot key, so that a reading's own "offset"
// metric cannot be taken for it.
func fastResult(b []byte, id int, res *subscribeResult) bool {
	if id <= 0 || id >= len(resultPrefix) || len(resultPrefix[id]) == 0 || !bytes.HasPrefix(b, resultPrefix[id]) {
		return false
	}
	if res == nil {
		return true
	}
	rest := b[len(resultPrefix[id]):]
	i := bytes.Index(rest, keySnapshot)
	if i < 0 {
		return false
	}
	snap := rest[i+len(keySnapshot):]
	offset, ok := numberAfter(rest[:i], keyOffset)
	switch {
	case !ok:
		return false
	case bytes.HasPrefix(snap, []byte("null")), bytes.HasPrefix(snap, []byte("[]")):
		res.Offset, res.readings = offset, false
	case bytes.HasPrefix(snap, []byte("[")):
		res.Offset, res.readings = offset, true
	default:
		return false
	}
	return true
}

// read counts every frame of one socket until it closes.
func (f *fleet) read(s *subscriber) {
	defer f.wg.Done()
	growStack()
	buf := make([]byte, 0, 1024)
	for {
		_, r, err := s.conn.NextReader()
		if err != nil {
			if !f.closing.Load() {
				f.disconnects.Add(1)
				f.firstDrop.Do(func() { f.log.Warn("the server closed a subscriber", "channel", string(s.channel), "err", err) })
			}
			return
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			continue // the next NextReader reports the broken socket
		}
		f.handle(s, buf, time.Since(f.clock))
	}
}

// readerStack is more than a reader parked in NextReader uses of its
// stack, and less than half of the 4 KiB stack that then holds it.
const readerStack = 2 << 10

// growStack grows a new reader goroutine's stack, from the runtime's 2 KiB
// start, while it is one frame deep: parked in NextReader, a reader needs
// more than 2 KiB, and growing there meant copying a dozen frames and
// adjusting their pointers (runtime.copystack under netpollblock was 7%
// of the generator's CPU per connect in W3).
//
//go:noinline
func growStack() {
	var pad [readerStack]byte
	touch(&pad)
}

//go:noinline
func touch(*[readerStack]byte) {}

// readAll appends r to buf, growing it: one buffer per socket, reused.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// handle counts one frame received at now (since the clock origin).
func (f *fleet) handle(s *subscriber, b []byte, now time.Duration) {
	kind, d, err := parseFrame(b)
	switch kind {
	case frameMessage:
		if err != nil || !bytes.Equal(d.channel, s.channel) {
			f.badFrames.Add(1)
			return
		}
		if d.step <= 0 || d.step >= int64(len(f.steps)) {
			return // priming, or a publication of someone else
		}
		st := f.steps[d.step]
		if d.offset <= s.last {
			st.dups.Add(1)
			return
		}
		s.last = d.offset
		if st.closed.Load() {
			st.late.Add(1)
			return
		}
		st.hist.record(now - time.Duration(d.sentUS)*time.Microsecond)
		st.received.Add(1)
	case frameLagged:
		f.lagged.Add(1)
	default:
		if err != nil {
			f.badFrames.Add(1)
		}
	}
}

// close ends every socket with a normal close and waits for the readers.
func (f *fleet) close() {
	f.closing.Store(true)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for _, s := range f.subs {
		if s != nil {
			_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			_ = s.conn.Close()
		}
	}
	f.wg.Wait()
}
