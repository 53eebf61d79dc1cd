package ws

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/hub"
)

// TestTryWriteStopsAtAFullSocket: the writer pool's write (tryWrite) takes
// what the socket accepts and returns, without waiting, when the peer
// stops reading, partway through a frame and a writev; write then sends
// the rest from there, so the peer reads every frame whole and once.
// Were tryWrite to wait, it would hang here (the peer reads only after it
// returns), and so would every socket behind it in the pool.
func TestTryWriteStopsAtAFullSocket(t *testing.T) {
	nc, peer := loopbackPair(t)
	fw := newFrameWriter(nc, 5*time.Second)
	require.True(t, fw.vectored)

	// More than the kernel buffers of a loopback pair take, in frames of
	// every header length and in several writevs.
	frames := make([]hub.Frame, 3*maxBatch+7)
	var want []byte
	for i := range frames {
		n := []int{5, 126, 70_000, 300_000}[i%4]
		p := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		frames[i].Data = p
		want = appendTextHeader(want, n)
		want = append(want, p...)
	}
	type result struct {
		sent int
		done bool
		err  error
	}
	res := make(chan result, 1)
	go func() {
		_, sent, done, err := fw.tryWrite(frames, mono())
		res <- result{sent, done, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("tryWrite waited for a peer that does not read")
	}
	require.NoError(t, r.err)
	require.False(t, r.done, "the socket cannot take %d bytes unread", len(want))
	require.Positive(t, r.sent)
	require.Less(t, r.sent, len(want))

	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	payload, err := fw.write(frames, mono(), r.sent)
	require.NoError(t, err)
	require.Positive(t, payload)
	require.NoError(t, nc.Close())
	b := <-got
	require.Equal(t, len(want), len(b), "bytes the peer read")
	require.True(t, bytes.Equal(want, b), "the frames arrive whole, in order, each once")
}

// TestTryWriteDoesNotAllocate: the pool's write allocates nothing either
// (its RawConn callback is a method value made once per pooled batch),
// for the reason TestFrameWriterDoesNotAllocate gives.
func TestTryWriteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	nc, drained := discardingPair(t)
	fw := newFrameWriter(nc, 5*time.Second)
	frames := []hub.Frame{{Data: make([]byte, 300)}, {Data: make([]byte, 20)}}
	allocs := testing.AllocsPerRun(200, func() {
		if _, _, done, err := fw.tryWrite(frames, mono()); err != nil || !done {
			t.Fatal(done, err)
		}
	})
	require.Zero(t, allocs, "allocations per tryWrite")
	require.NoError(t, nc.Close())
	require.NoError(t, <-drained)
}
