package bridge

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/mqlive/mqlive/devices"
)

// laneQueue bounds the messages waiting per ingest worker; when a worker's
// queue is full the MQTT client waits, which backs the broker off through
// QoS 1 flow control instead of growing memory.
const laneQueue = 256

// lanes run the ingest pipeline on several goroutines (cluster.
// ingest_workers), so that a cluster node's Valkey round trips overlap
// instead of adding up message after message. A topic always maps to the
// same lane, so one device's messages keep their order.
type lanes struct {
	seed maphash.Seed
	chs  []chan devices.Message
	wg   sync.WaitGroup
}

func (b *Bridge) startLanes(n int) *lanes {
	l := &lanes{seed: maphash.MakeSeed(), chs: make([]chan devices.Message, n)}
	for i := range l.chs {
		ch := make(chan devices.Message, laneQueue)
		l.chs[i] = ch
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for m := range ch {
				b.handleMessage(m)
			}
		}()
	}
	return l
}

func (l *lanes) enqueue(m devices.Message) {
	l.chs[maphash.String(l.seed, m.Topic)%uint64(len(l.chs))] <- m
}

// stop processes what is queued, for at most timeout, and returns.
func (l *lanes) stop(timeout time.Duration) {
	for _, ch := range l.chs {
		close(ch)
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// ingestMessage is the MQTT client's handler: it runs the pipeline at once
// on one worker, or hands the message to its lane.
func (b *Bridge) ingestMessage(m devices.Message) {
	if l := b.lanes; l != nil {
		l.enqueue(m)
		return
	}
	b.handleMessage(m)
}
