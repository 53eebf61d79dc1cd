package bridge

import (
	"hash/maphash"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// testLanes are n lanes keyed by topic (one source, base "d") whose
// pipeline is handle.
func testLanes(t *testing.T, n int, inline bool, handle func(devices.Message)) *lanes {
	l := &lanes{seed: maphash.MakeSeed(), ls: make([]*lane, n), seq: []bool{false}, tenants: []string{"t"}, bases: []string{"d"},
		route: func(string) (int, bool) { return 0, true }, handle: handle, inline: inline}
	l.start()
	t.Cleanup(func() { l.stop(5 * time.Second) })
	return l
}

// laneOf is the lane l maps topic to.
func laneOf(l *lanes, topic string) int {
	return int(maphash.String(l.seed, laneKey(topic, "d")) % uint64(len(l.ls)))
}

// TestIdleLaneRunsOnThePublisher: a message that finds its lane idle and
// not hot is processed on the publisher's goroutine, before enqueue
// returns, with no goroutine woken; one that follows within laneHot is
// handed to the lane's goroutine. Without inline (a cluster), every
// message is handed off.
func TestIdleLaneRunsOnThePublisher(t *testing.T) {
	var mu sync.Mutex
	var got []string
	l := testLanes(t, 2, true, func(m devices.Message) { mu.Lock(); got = append(got, m.Topic); mu.Unlock() })
	now := time.Now()
	l.enqueue(devices.Message{Topic: "d/a", ReceivedAt: now})
	mu.Lock()
	require.Equal(t, []string{"d/a"}, got, "processed before enqueue returned")
	mu.Unlock()
	require.Equal(t, uint64(1), l.inlined.Load())
	require.Zero(t, l.wakes.Load())
	// The same lane again, 10 µs later: hot, so handed off.
	l.enqueue(devices.Message{Topic: "d/a", ReceivedAt: now.Add(10 * time.Microsecond)})
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, uint64(1), l.wakes.Load())
	// Idle long enough: inline again.
	l.enqueue(devices.Message{Topic: "d/a", ReceivedAt: now.Add(time.Second)})
	require.Equal(t, uint64(2), l.inlined.Load())

	c := testLanes(t, 2, false, func(devices.Message) {})
	c.enqueue(devices.Message{Topic: "d/a", ReceivedAt: now})
	require.Zero(t, c.inlined.Load())
	require.Equal(t, uint64(1), c.wakes.Load())
}

// TestLanesKeepEachDevicesOrder: publishers on several goroutines (as
// devices' connections are) send each device's messages one after the
// other, at random gaps so that some are processed inline and some on the
// lanes; every device's messages are processed in the order sent, and
// never two of one lane at once.
func TestLanesKeepEachDevicesOrder(t *testing.T) {
	const devs, per, pubs = 40, 300, 8
	var mu sync.Mutex
	next := map[string]int{}
	running := make([]int, 2)
	var l *lanes
	l = testLanes(t, 2, true, func(m devices.Message) {
		i := laneOf(l, m.Topic)
		mu.Lock()
		running[i]++
		require.Equal(t, 1, running[i], "two goroutines processing lane %d", i)
		seq, _ := strconv.Atoi(string(m.Payload))
		require.Equal(t, next[m.Topic], seq, m.Topic)
		next[m.Topic] = seq + 1
		mu.Unlock()
		if seq%7 == 0 {
			time.Sleep(20 * time.Microsecond)
		}
		mu.Lock()
		running[i]--
		mu.Unlock()
	})
	// Each device belongs to one publisher at a time, in turn, as a device
	// that reconnects: publisher p sends device d's message seq when
	// (seq+d)%pubs == p, after the previous one was enqueued.
	var turn sync.Map
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range per {
				for d := range devs {
					if (seq+d)%pubs != p {
						continue
					}
					topic := "d/dev" + strconv.Itoa(d)
					for {
						v, _ := turn.LoadOrStore(topic, 0)
						if v.(int) == seq {
							break
						}
						time.Sleep(time.Microsecond)
					}
					at := time.Now()
					if seq%3 == 0 {
						at = at.Add(-time.Second) // looks idle: inline if the lane is free
					}
					l.enqueue(devices.Message{Topic: topic, Payload: []byte(strconv.Itoa(seq)), ReceivedAt: at})
					turn.Store(topic, seq+1)
				}
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for d := range devs {
			if next["d/dev"+strconv.Itoa(d)] != per {
				return false
			}
		}
		return true
	}, 10*time.Second, time.Millisecond)
	require.NotZero(t, l.inlined.Load(), "some processed inline")
	require.NotZero(t, l.wakes.Load(), "some handed off")
}

// TestFullLaneHoldsBackOnlyItsPublishers: while lane A's pipeline is
// stuck, its queue fills and the next publisher to A waits; a publisher to
// the other lane is not held up, and A's publisher goes on once A moves.
func TestFullLaneHoldsBackOnlyItsPublishers(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	var l *lanes
	var stuck string
	l = testLanes(t, 2, true, func(m devices.Message) {
		if m.Topic == stuck {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
	})
	// Two topics on different lanes.
	a, other := "d/a", ""
	for i := 0; other == ""; i++ {
		if tp := "d/x" + strconv.Itoa(i); laneOf(l, tp) != laneOf(l, a) {
			other = tp
		}
	}
	stuck = a
	// The first finds the lane idle and blocks its own publisher; the
	// next laneQueue are queued behind it and fill the lane.
	go l.enqueue(devices.Message{Topic: a})
	<-entered
	for range laneQueue {
		l.enqueue(devices.Message{Topic: a})
	}
	hot := time.Now()
	blocked := make(chan struct{})
	go func() { l.enqueue(devices.Message{Topic: a, ReceivedAt: hot}); close(blocked) }()
	select {
	case <-blocked:
		t.Fatal("a publisher to a full lane was not held back")
	case <-time.After(50 * time.Millisecond):
	}
	done := make(chan struct{})
	go func() { l.enqueue(devices.Message{Topic: other}); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the other lane's publisher was held back")
	}
	close(release)
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("the held publisher did not go on")
	}
}

// TestInlinePanicReleasesTheLane: a pipeline that panics on a publisher's
// goroutine (the ingest client recovers it) leaves the lane free: the
// next messages are processed.
func TestInlinePanicReleasesTheLane(t *testing.T) {
	got := make(chan string, 4)
	l := testLanes(t, 1, true, func(m devices.Message) {
		if string(m.Payload) == "boom" {
			panic("boom")
		}
		got <- m.Topic
	})
	func() {
		defer func() { require.NotNil(t, recover()) }()
		l.enqueue(devices.Message{Topic: "d/a", Payload: []byte("boom")})
	}()
	l.enqueue(devices.Message{Topic: "d/a", Payload: []byte("ok")})
	l.enqueue(devices.Message{Topic: "d/b", Payload: []byte("ok"), ReceivedAt: time.Now()})
	l.enqueue(devices.Message{Topic: "d/c", Payload: []byte("ok"), ReceivedAt: time.Now()})
	for range 3 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("lane held after a panic")
		}
	}
}

// TestStoppedLanesProcessStragglers: stop processes what is queued, and a
// message that comes after (a straggler) is processed on its publisher.
func TestStoppedLanesProcessStragglers(t *testing.T) {
	var mu sync.Mutex
	n := 0
	l := testLanes(t, 2, false, func(devices.Message) { mu.Lock(); n++; mu.Unlock() })
	for i := range 100 {
		l.enqueue(devices.Message{Topic: "d/" + strconv.Itoa(i)})
	}
	l.stop(5 * time.Second)
	mu.Lock()
	require.Equal(t, 100, n)
	mu.Unlock()
	l.enqueue(devices.Message{Topic: "d/late"})
	mu.Lock()
	require.Equal(t, 101, n)
	mu.Unlock()
}
