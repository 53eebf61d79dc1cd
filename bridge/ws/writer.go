package ws

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/mqlive/mqlive/bridge/hub"
)

// maxBatch is the most text frames one writev carries: 64 frames are 128
// iovecs, well under the kernel's 1,024, and PERFORMANCE.md §2 measured
// no gain past it.
const maxBatch = 64

// maxHeader is the longest server frame header (RFC 6455 §5.2: two bytes
// and a 64-bit length; server frames carry no mask).
const maxHeader = 10

// batch holds what one writev needs. Batches are pooled, not kept per
// socket: an idle socket holds none (PERFORMANCE.md "idle anatomy").
type batch struct {
	hdr  []byte      // the headers of the frames, back to back
	bufs net.Buffers // header, payload, header, payload…
	// out is what a writev consumes (net.Buffers.WriteTo advances its
	// receiver). It lives in the pooled batch so that the receiver is no
	// new heap object per write: a writer that allocates while the GC
	// marks has to assist it first, and at 10k writes/s those assists
	// queued every woken writer for tens of milliseconds (issue 10, W2).
	out net.Buffers
	// wire is the bytes of the frames fill put in bufs, headers included.
	wire int
	// The pool's writes (frameWriter.tryWrite) go through the socket's
	// syscall.RawConn: iov is their vector, n and err their result, and
	// fn the method value handed to RawConn.Write, made once per pooled
	// batch so that a write allocates no closure.
	iov []syscall.Iovec
	n   int
	err error
	fn  func(fd uintptr) bool
}

var batches = sync.Pool{New: func() any {
	b := &batch{hdr: make([]byte, 0, maxBatch*maxHeader), bufs: make(net.Buffers, 0, 2*maxBatch),
		iov: make([]syscall.Iovec, 0, 2*maxBatch)}
	b.fn = b.writevFD
	return b
}}

// fill puts the frames of part (at most maxBatch text frames) in bufs and
// returns their payload bytes.
func (b *batch) fill(part []hub.Frame) int {
	b.hdr, b.bufs = b.hdr[:0], b.bufs[:0]
	total := 0
	for _, f := range part {
		p := f.Data
		start := len(b.hdr)
		b.hdr = appendTextHeader(b.hdr, len(p))
		// hdr never grows past its capacity (maxBatch*maxHeader), so
		// the slices taken of it stay valid.
		b.bufs = append(b.bufs, b.hdr[start:len(b.hdr):len(b.hdr)], p)
		total += len(p)
	}
	b.wire = total + len(b.hdr)
	return total
}

// reset drops the payload references of the frames fill put in, before
// the next part is filled or the batch is pooled: only those, since
// clearing the whole capacity (128 buffers and 128 iovecs, 5 KiB) on
// every write cost 2% of the server's CPU in W1 (issue 10).
func (b *batch) reset() {
	clear(b.bufs)
	clear(b.iov)
}

// appendTextHeader appends the header of an unmasked, final text frame
// with an n-byte payload (RFC 6455 §5.2: FIN=1, opcode 1; lengths up to
// 125 in the second byte, up to 65,535 after the marker 126, larger ones
// in 64 bits after 127).
func appendTextHeader(dst []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n <= 125:
		return append(dst, finText, byte(n))
	case n <= 0xffff:
		return append(dst, finText, 126, byte(n>>8), byte(n))
	default:
		u := uint64(n)
		return append(dst, finText, 127, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32),
			byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
}

// frameWriter writes text frames straight to a WebSocket's network
// connection, several per system call. The websocket library keeps the
// handshake, the reading and the control frames; its Conn would write one
// frame per call (PERFORMANCE.md §2: 10.6–10.9 µs per delivery with
// writev against 12.6–13.2 µs).
//
// Only the session's writer goroutine calls it, and the writer also sends
// the pings, pongs (hub.Session.Pong) and the close frame, so every
// frame this server writes to a socket comes from that one goroutine. The
// library's reader writes a close frame itself in two cases only (a frame
// over the read limit, a protocol error), as the connection ends; that
// write is one Write of a whole frame, and the socket's own write lock
// (every Write and writev on a net.Conn holds it until the last byte is
// out) keeps it from landing inside one of ours.
type frameWriter struct {
	nc net.Conn
	// vectored: nc writes net.Buffers with one writev (a TCP or Unix
	// socket); anything else gets one Write of the frames copied
	// together, so that a frame still goes out in one call.
	vectored bool
	timeout  time.Duration
	// until is the write deadline last set on nc, as a mono() reading
	// (8 bytes of the idle socket's budget, not a time.Time's 24); zero
	// when unknown (a control frame written through the library sets its
	// own). A write refreshes it only when less than three quarters of
	// timeout is left: setting a deadline rearms the socket's runtime
	// timer, about 4% of the server's CPU in W1 when done per write
	// (issue 10), so a write is bounded by between ¾ and all of timeout.
	until time.Duration
	// rc writes to nc without waiting (tryWrite); nil when nc is not
	// vectored.
	rc syscall.RawConn
}

// forgetDeadline says that something else set nc's write deadline.
func (w *frameWriter) forgetDeadline() { w.until = 0 }

func newFrameWriter(nc net.Conn, timeout time.Duration) frameWriter {
	// fasthttp hands the library a hijacked connection whose Write is the
	// socket's, but whose type hides it from net.Buffers.
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	w := frameWriter{nc: nc, timeout: timeout}
	switch c := nc.(type) {
	case *net.TCPConn:
		w.rc, _ = c.SyscallConn()
	case *net.UnixConn:
		w.rc, _ = c.SyscallConn()
	}
	w.vectored = w.rc != nil
	return w
}

// write sends the Data of frames (text frames only) in order, at most
// maxBatch per system call, and returns the bytes of payload written. now
// is a recent mono() reading (the writer reads the clock once per batch).
// skip is how many bytes of the frames, headers included, are already out
// (a tryWrite that would have blocked).
func (w *frameWriter) write(frames []hub.Frame, now time.Duration, skip int) (int, error) {
	if len(frames) == 0 {
		return 0, nil
	}
	if err := w.refreshDeadline(now); err != nil {
		return 0, err
	}
	b := batches.Get().(*batch)
	defer batches.Put(b)
	total := 0
	for len(frames) > 0 {
		part := frames[:min(len(frames), maxBatch)]
		frames = frames[len(part):]
		total += b.fill(part)
		if skip >= b.wire {
			skip -= b.wire
			b.reset()
			continue
		}
		bufs := b.bufs
		for skip > 0 {
			if skip < len(bufs[0]) {
				bufs[0] = bufs[0][skip:]
				break
			}
			skip -= len(bufs[0])
			bufs = bufs[1:]
		}
		skip = 0
		err := w.flush(b, bufs)
		b.reset()
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// refreshDeadline sets nc's write deadline timeout ahead when less than
// three quarters of it are left (see until).
func (w *frameWriter) refreshDeadline(now time.Duration) error {
	if w.until-now < w.timeout-w.timeout/4 {
		w.until = now + w.timeout
		return w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return nil
}

func (w *frameWriter) flush(b *batch, bufs net.Buffers) error {
	if w.vectored {
		b.out = bufs
		_, err := b.out.WriteTo(w.nc)
		b.out = nil
		return err
	}
	n := 0
	for _, p := range bufs {
		n += len(p)
	}
	one := make([]byte, 0, n)
	for _, p := range bufs {
		one = append(one, p...)
	}
	_, err := w.nc.Write(one)
	return err
}

// tryWrite is write for a writer that must not block (the writer pool):
// it writes what the socket takes now, several frames per writev, and
// returns the bytes of payload it was given, the bytes written (headers
// included) and whether that is all of them. A peer whose socket buffer
// is full leaves the rest for write, on a goroutine that may wait. now is
// as in write.
func (w *frameWriter) tryWrite(frames []hub.Frame, now time.Duration) (payload, sent int, done bool, err error) {
	// Nothing waits here, but the runtime refuses any write on a socket
	// whose write deadline has passed, and the library leaves one behind
	// with every control frame: keep it ahead, as write does.
	if err := w.refreshDeadline(now); err != nil {
		return 0, 0, false, err
	}
	b := batches.Get().(*batch)
	defer batches.Put(b)
	for len(frames) > 0 {
		part := frames[:min(len(frames), maxBatch)]
		frames = frames[len(part):]
		payload += b.fill(part)
		n, err := b.writeNow(w.rc)
		b.reset()
		sent += n
		if err != nil || n < b.wire {
			return payload, sent, false, err
		}
	}
	return payload, sent, true, nil
}

// Write coalescing for hot sockets (issue 10, W1). A socket that gets a
// frame every few tens of milliseconds, such as each of 5,000 subscribers
// of a channel published 30 times a second, would cost one writev per
// frame on the server and one read on the client: on a 2-core machine the
// two processes then saturate near 75k deliveries/s with p99 in seconds.
// Its writer instead takes a batch at most every coalesceWindow, so the
// frames that arrive meanwhile go out together (W1, load average 3: every
// step up to 30 msg/s passed, 148k deliveries/s at p99 111 ms with 76% of
// a core, 5.1 µs per delivery; without it the sweep stopped at 25 msg/s,
// p99 2.2 s, after 95k/s at 107%, 11.2 µs). A socket is hot only while its
// frames come less than hotGap apart on average (15 msg/s and more), so
// sparse traffic (W2's 2 msg/s per socket, a 5,000-way burst every 100 ms
// or more) is written at once, as before.
const (
	coalesceWindow = 100 * time.Millisecond
	hotGap         = 70 * time.Millisecond
	// coldGap bounds the gap one batch can report, so that a socket
	// that was quiet for long turns hot again after a few busy batches.
	coldGap = time.Second
)

// monoBase makes mono's readings small durations on the monotonic clock.
var monoBase = time.Now()

func mono() time.Duration { return time.Since(monoBase) }

// pacer is a writer's coalescing state; only the writer uses it.
type pacer struct {
	last time.Duration // mono() when the last batch was taken; 0: none yet
	gap  time.Duration // smoothed time between two text frames taken
	// timer starts the writer when a window ends (conn.deferFor); nil
	// until the socket is first hot, then kept and never replaced.
	timer *time.Timer
}

// took records a batch of n text frames taken at now.
func (p *pacer) took(now time.Duration, n int) {
	if n == 0 {
		return
	}
	gap := coldGap
	if p.last == 0 {
		p.gap = coldGap
	} else {
		gap = min((now-p.last)/time.Duration(n), coldGap)
	}
	p.gap += (gap - p.gap) / 4 // an average over the last few batches
	p.last = now
}

// hot says the writer may have to wait (see wait), without a clock read.
func (p *pacer) hot() bool { return p.last != 0 && p.gap < hotGap }

// wait is how long a writer should let frames gather before it takes the
// next batch: until the window that started with the last batch ends,
// for a hot socket; zero otherwise.
func (p *pacer) wait(now time.Duration) time.Duration {
	if !p.hot() {
		return 0
	}
	return max(0, p.last+coalesceWindow-now)
}
