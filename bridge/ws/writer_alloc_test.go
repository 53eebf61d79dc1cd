package ws

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/hub"
)

// TestFrameWriterDoesNotAllocate: writing frames to a TCP socket allocates
// nothing once the pooled batch exists. A writer that allocates while the
// GC marks must assist it before it may go on, so one small allocation per
// write held every woken writer back for tens of milliseconds at each GC
// (issue 10, W2: p99 33–84 ms at p50 0.8 ms).
func TestFrameWriterDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	nc, drained := discardingPair(t)
	fw := newFrameWriter(nc, 5*time.Second)
	require.True(t, fw.vectored)

	one := []hub.Frame{{Data: make([]byte, 300)}}
	many := make([]hub.Frame, 3*maxBatch+5) // several writevs per call
	for i := range many {
		many[i].Data = make([]byte, 100+i)
	}
	for _, frames := range [][]hub.Frame{one, many} {
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := fw.write(frames, mono(), 0); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "allocations per write of %d frames", len(frames))
	}
	require.NoError(t, nc.Close())
	require.NoError(t, <-drained)
}

// TestFrameWriterRefreshesItsDeadlineOnlyWhenDue: a write sets the
// socket's write deadline only when less than ¾ of the timeout is left,
// after a control frame written by the library (which sets its own), and
// a peer that stops reading still fails the write with a timeout.
func TestFrameWriterRefreshesItsDeadlineOnlyWhenDue(t *testing.T) {
	nc, _ := loopbackPair(t) // the peer never reads: nc's buffers fill up

	const timeout = 400 * time.Millisecond
	fw := newFrameWriter(nc, timeout)
	frame := []hub.Frame{{Data: []byte("x")}}
	_, err := fw.write(frame, mono(), 0)
	require.NoError(t, err)
	first := fw.until
	require.InDelta(t, mono()+timeout, first, float64(timeout/4))
	_, err = fw.write(frame, mono(), 0)
	require.NoError(t, err)
	require.Equal(t, first, fw.until, "a deadline with more than ¾ of the timeout left is kept")

	fw.until = mono() + timeout/2 // as if time had passed
	_, err = fw.write(frame, mono(), 0)
	require.NoError(t, err)
	require.Greater(t, fw.until, first, "a deadline with less than ¾ left is refreshed")

	fw.forgetDeadline()
	_, err = fw.write(frame, mono(), 0)
	require.NoError(t, err)
	require.NotZero(t, fw.until, "after a control frame the next write sets its own")

	// A peer that reads nothing: the write blocks, then times out.
	big := []hub.Frame{{Data: make([]byte, 1<<20)}}
	start := time.Now()
	for err == nil && time.Since(start) < 10*timeout {
		_, err = fw.write(big, mono(), 0)
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

// loopbackPair is a connected pair of TCP sockets on loopback, closed when
// the test ends: what the writer writes to and the peer's end.
func loopbackPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	peer, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	return nc, peer
}

// discardingPair is loopbackPair whose peer reads and drops everything;
// drained reports the end of its reading once nc is closed.
func discardingPair(t *testing.T) (nc net.Conn, drained <-chan error) {
	t.Helper()
	nc, peer := loopbackPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, peer)
		done <- err
	}()
	return nc, done
}

// TestPacerHoldsBackOnlyHotSockets: a socket turns hot after a few
// batches whose frames came less than hotGap apart, its writer then waits
// out the window since the last batch, and a quiet spell cools it. A new
// socket, and one at W2's pace, is never held back.
func TestPacerHoldsBackOnlyHotSockets(t *testing.T) {
	var p pacer
	now := time.Hour // any monotonic reading
	require.Zero(t, p.wait(now), "a new socket is written at once")

	// 2 frames a second, one per batch: never hot.
	for range 20 {
		p.took(now, 1)
		require.False(t, p.hot())
		now += 500 * time.Millisecond
	}
	// 10 a second (W1's 5,000-way bursts up to 10 msg/s): not hot.
	for range 20 {
		p.took(now, 1)
		require.False(t, p.hot())
		now += 100 * time.Millisecond
	}
	// A single close pair of frames does not make it hot either.
	p.took(now, 1)
	now += 5 * time.Millisecond
	p.took(now, 1)
	require.False(t, p.hot())
	require.Zero(t, p.wait(now+time.Millisecond))

	// 30 frames a second: hot after a few batches.
	hot := false
	for range 20 {
		now += 33 * time.Millisecond
		p.took(now, 1)
		if p.wait(now) > 0 {
			hot = true
			break
		}
	}
	require.True(t, hot, "frames 33 ms apart make a socket hot")
	require.Equal(t, coalesceWindow-10*time.Millisecond, p.wait(now+10*time.Millisecond),
		"the writer waits until the window since the last batch ends")
	require.Zero(t, p.wait(now+coalesceWindow))
	// Batches of three frames every window keep it hot.
	for range 10 {
		now += coalesceWindow
		p.took(now, 3)
		require.Positive(t, p.wait(now))
	}
	// A quiet spell: cold again after a few sparse batches.
	for range 10 {
		now += 2 * time.Second
		p.took(now, 1)
	}
	require.Zero(t, p.wait(now))
	// Control frames alone say nothing about the pace.
	last, gap := p.last, p.gap
	p.took(now+time.Millisecond, 0)
	require.Equal(t, last, p.last)
	require.Equal(t, gap, p.gap)
}
