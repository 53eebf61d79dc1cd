package ws

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// do runs fn through the pool, as conn.frame runs a request.
func (p *requestPool) do(fn func()) {
	j := newJob(func(*job) { fn() })
	defer j.release()
	p.run(j)
}

// goroutineID is the id runtime.Stack prints for the calling goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return string(bytes.Fields(buf)[1])
}

// TestRequestPoolReusesWorkers: requests one after another run on the
// pool's few workers, not on a fresh goroutine (and a fresh stack to grow)
// each, and never on the caller's goroutine.
func TestRequestPoolReusesWorkers(t *testing.T) {
	p := newRequestPool(4)
	defer p.close(context.Background())
	caller := goroutineID()
	seen := map[string]bool{}
	for range 200 {
		var id string
		p.do(func() { id = goroutineID() })
		require.NotEqual(t, caller, id, "ran on the caller's stack")
		seen[id] = true
	}
	require.LessOrEqual(t, len(seen), 4, "goroutines that answered 200 requests")
}

// TestRequestPoolNeverQueues: with every worker busy, a request runs at
// once on a goroutine of its own instead of waiting for a worker.
func TestRequestPoolNeverQueues(t *testing.T) {
	p := newRequestPool(1)
	defer p.close(context.Background())
	release := make(chan struct{})
	started := make(chan struct{})
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		p.do(func() { close(started); <-release })
	}()
	<-started
	ran := make(chan struct{})
	go p.do(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("a request waited for a busy worker")
	}
	close(release)
	<-blocked
}

// TestRequestPoolPanicGoesToCaller: a panic in a request reaches the
// socket's goroutine, whose handler recovers it, and the pool still works.
func TestRequestPoolPanicGoesToCaller(t *testing.T) {
	p := newRequestPool(2)
	defer p.close(context.Background())
	require.PanicsWithValue(t, "boom", func() { p.do(func() { panic("boom") }) })
	ok := false
	p.do(func() { ok = true })
	require.True(t, ok)
}

// TestRequestPoolClose: close ends the workers (goleak checks none is
// left) and waits for a busy one; later requests still run.
func TestRequestPoolClose(t *testing.T) {
	p := newRequestPool(2)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.do(func() { close(started); <-release })
	<-started
	p.do(func() {})
	closed := make(chan struct{})
	go func() { p.close(context.Background()); close(closed) }()
	select {
	case <-closed:
		t.Fatal("close did not wait for the busy worker")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	ok := false
	p.do(func() { ok = true })
	require.True(t, ok)
}
