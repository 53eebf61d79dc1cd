package ws

import (
	"io"
	"net"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	drained := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			drained <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		_ = c.Close()
		drained <- err
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	fw := newFrameWriter(nc, 5*time.Second)
	require.True(t, fw.vectored)

	one := []hub.Frame{{Data: make([]byte, 300)}}
	many := make([]hub.Frame, 3*maxBatch+5) // several writevs per call
	for i := range many {
		many[i].Data = make([]byte, 100+i)
	}
	for _, frames := range [][]hub.Frame{one, many} {
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := fw.write(frames); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "allocations per write of %d frames", len(frames))
	}
	require.NoError(t, nc.Close())
	require.NoError(t, <-drained)
}
