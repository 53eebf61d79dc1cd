package ws

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// blockedPool is a writer pool of two workers whose writes wait on
// release and record the sockets in the order they were written.
type blockedPool struct {
	p       *writerPool
	release chan struct{}
	mu      sync.Mutex
	got     []*conn
}

func newBlockedPool(t *testing.T) *blockedPool {
	t.Helper()
	b := &blockedPool{p: &writerPool{workers: 2}, release: make(chan struct{})}
	b.p.run = func(cn *conn, _ bool) {
		<-b.release
		b.mu.Lock()
		b.got = append(b.got, cn)
		b.mu.Unlock()
	}
	t.Cleanup(func() {
		close(b.release)
		b.p.stop()
	})
	return b
}

// awake waits until n workers are awake (running or signalled).
func (b *blockedPool) awake(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		b.p.mu.Lock()
		defer b.p.mu.Unlock()
		return b.p.awake == n
	}, 5*time.Second, time.Millisecond)
}

func (b *blockedPool) wakes() int {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return b.p.wakes
}

// TestPoolWakesOneWorkerPerBurst: while one worker runs, sockets queued
// behind it wake no other until more than wakeDepth wait for it; a
// publication to a few sockets (W2's five) costs one wake-up, not one per
// socket, and a long queue (W1's burst) still gets every worker.
func TestPoolWakesOneWorkerPerBurst(t *testing.T) {
	b := newBlockedPool(t)
	conns := make([]conn, 2+2*wakeDepth)
	require.True(t, b.p.push(&conns[0], false)) // starts the workers
	b.awake(t, 1)                               // one writes conns[0], the other sleeps
	base := b.wakes()
	for i := 1; i <= wakeDepth; i++ {
		require.True(t, b.p.push(&conns[i], false))
	}
	require.Equal(t, base, b.wakes(), "a running worker takes a short queue without help")
	require.True(t, b.p.push(&conns[wakeDepth+1], false))
	require.Equal(t, base+1, b.wakes(), "a queue longer than wakeDepth wakes the second worker")
	b.awake(t, 2)
	for i := wakeDepth + 2; i < len(conns); i++ {
		require.True(t, b.p.push(&conns[i], false))
	}
	require.Equal(t, base+1, b.wakes(), "no worker is left to wake")
}

// TestPoolWakesAnIdleWorker: with every worker asleep, the first socket
// queued wakes one, and only one.
func TestPoolWakesAnIdleWorker(t *testing.T) {
	b := newBlockedPool(t)
	b.p.mu.Lock()
	b.p.start()
	b.p.mu.Unlock()
	b.awake(t, 0)
	var cn conn
	require.True(t, b.p.push(&cn, false))
	require.Equal(t, 1, b.wakes())
	b.release <- struct{}{}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.got) == 1 && b.got[0] == &cn
	}, 5*time.Second, time.Millisecond)
}

// TestPoolEndsWindowsInOrder: sockets whose coalescing windows end at
// different times are queued for a worker (with now set) in the order
// their windows end, a socket deferred again keeps one place (its later
// window), and one whose window urgent work already ended (deferred
// cleared) is not queued. When the pool stops, every window still
// waiting ends at once, so that each socket's writer runs and ends.
func TestPoolEndsWindowsInOrder(t *testing.T) {
	srv := &Server{}
	p := &srv.writers
	p.workers = 1
	var mu sync.Mutex
	var got []*conn
	paced := true // every socket was queued with now set
	p.run = func(cn *conn, now bool) {
		cn.writing.Store(false)
		mu.Lock()
		got = append(got, cn)
		paced = paced && now
		mu.Unlock()
	}
	conns := make([]*conn, 5)
	for i := range conns {
		conns[i] = &conn{srv: srv}
		conns[i].writing.Store(true)
	}
	// Starts the pool with a first socket, written at once.
	require.True(t, p.push(conns[4], true))
	start := mono()
	deferAt := func(cn *conn, d time.Duration) {
		cn.deferred.Store(true)
		require.True(t, p.deferUntil(cn, start+d))
	}
	deferAt(conns[0], 90*time.Millisecond)
	deferAt(conns[1], 30*time.Millisecond)
	deferAt(conns[2], 60*time.Millisecond)
	deferAt(conns[3], 10*time.Millisecond)
	deferAt(conns[3], 120*time.Millisecond) // deferred again: moves
	deferAt(conns[2], 200*time.Millisecond)
	conns[2].deferred.Store(false) // urgent work took over
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 4
	}, 5*time.Second, time.Millisecond)
	require.GreaterOrEqual(t, mono()-start, 120*time.Millisecond-paceSlack)
	// conns[2]'s window ends too, and finds nothing to claim.
	require.Eventually(t, func() bool {
		p.dmu.Lock()
		defer p.dmu.Unlock()
		return len(p.deferred) == 0
	}, 5*time.Second, time.Millisecond)
	mu.Lock()
	require.Equal(t, []*conn{conns[4], conns[1], conns[0], conns[3]}, got)
	require.True(t, paced, "a window's end takes the batch at once")
	got = got[:0]
	mu.Unlock()

	// A window far off ends when the pool stops.
	conns[0].writing.Store(true)
	conns[0].deferred.Store(true)
	require.True(t, p.deferUntil(conns[0], mono()+time.Hour))
	stopped := make(chan struct{})
	go func() {
		p.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the pool did not stop")
	}
	require.False(t, conns[0].deferred.Load(), "its window ended")
	require.Equal(t, []*conn{conns[0]}, got, "and a worker wrote for it before the pool stopped")
	require.False(t, p.deferUntil(conns[1], mono()+time.Millisecond), "a stopped pool takes no window")
}

// BenchmarkWriterPoolFanOut: one op is a publication to five sockets
// (W2's channels) through a pool whose writes do nothing; it reports the
// workers woken per publication, which the wake rule keeps at one.
func BenchmarkWriterPoolFanOut(b *testing.B) {
	p := &writerPool{}
	var done sync.WaitGroup
	p.run = func(*conn, bool) { done.Done() }
	conns := make([]conn, 5)
	b.ReportAllocs()
	for b.Loop() {
		done.Add(len(conns))
		for i := range conns {
			p.push(&conns[i], false)
		}
		done.Wait()
	}
	p.mu.Lock()
	wakes := p.wakes
	p.mu.Unlock()
	b.ReportMetric(float64(wakes)/float64(b.N), "wakes/op")
	p.stop()
}
