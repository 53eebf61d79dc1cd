package bridge

import (
	"context"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqlive/mqlive/bridge/ingest"
	"github.com/mqlive/mqlive/devices"
)

// ingester is where the pipeline's messages come from: an ingest.Client
// (paho) subscribed to an external broker, or an ingest.Inline taking
// them straight from the embedded one.
type ingester interface {
	Run(ctx context.Context) error
	Connected() bool
	Stats() ingest.Stats
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
}

// inlineIngest subscribes the sources' filters on the embedded broker in
// the process, before it serves: no loopback MQTT client, no packet
// encoded, written, read and decoded again per message. What the paho
// client gave stays: retained messages with their flag at start, every
// filter once per message, commands published to devices, and order per
// device (inline delivery runs on the publisher's goroutine, and lanes
// keyed by device take it from there; see ingestLanes).
func (b *Bridge) inlineIngest() (*ingest.Inline, error) {
	in, err := ingest.NewInline(ingest.InlineConfig{Broker: b.broker, Filters: b.router.Filters(), Logger: b.log}, b.ingestMessage)
	if err != nil {
		return nil, err
	}
	b.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "mqlive_ingest_dropped_total",
		Help: "Messages the embedded broker handed over after ingest had begun to stop (wills of the devices the shutdown disconnects, publishes racing it), not processed.",
	}, func() float64 { return float64(in.Stats().Dropped) }))
	return in, nil
}

// laneQueue bounds the messages waiting per ingest worker; when a worker's
// queue is full the MQTT client waits, which backs the broker off through
// QoS 1 flow control instead of growing memory.
const laneQueue = 256

// laneHot is the gap between two messages of one lane under which the
// lane is busy enough to be worth its own goroutine (see lane.enqueue): at
// over 10,000 messages/s per lane, the hand-off's wake-up is shared by the
// batch the lane then finds queued, and the publishers' goroutines go back
// to reading their sockets.
const laneHot = 100 * time.Microsecond

// lanes run the ingest pipeline on several goroutines:
//   - in a cluster (cluster.ingest_workers), so that a node's Valkey round
//     trips overlap instead of adding up message after message; a device
//     always maps to the same lane (laneKey), so its messages keep their
//     order, and every message of a devices.Sequential source (Sparkplug,
//     Home Assistant, Homie) maps to one lane, so a birth or discovery
//     config is decoded before the data that needs it;
//   - on one node with the embedded broker and several tenants, one lane
//     per tenant, so that a tenant whose state is busy (a large snapshot
//     being copied, a burst) never holds up another tenant's readings;
//   - on one node with the embedded broker and one tenant, one lane per
//     CPU, keyed by topic as in a cluster, so that decoding and encoding
//     (most of a message's cost; the tenant lock is held only to merge and
//     append) run on every core instead of on the MQTT client's goroutine.
//     The embedded broker lives in the same process, so acknowledging a
//     message before its lane has processed it loses nothing a crash would
//     not lose anyway; with an external broker a single node keeps
//     processing on the MQTT client's goroutine, acknowledging after.
//
// On one node with the embedded broker, memory state and one tenant
// (inline), a message whose lane is idle is processed at once on the goroutine of the
// device that published it (see lane.enqueue): at a few thousand messages
// per second, waking a lane's goroutine for each message (a futex, a
// scheduler round, a cold cache) cost more than the pipeline itself.
type lanes struct {
	seed     maphash.Seed
	seq      []bool // per source: devices.Sequential
	ls       []*lane
	wg       sync.WaitGroup
	byTenant map[string]int // lane of each tenant; nil: by source
	route    func(topic string) (source int, ok bool)
	tenants  []string // per source
	bases    []string // per source
	// handle runs the pipeline for one message (Bridge.handleMessage).
	handle func(devices.Message)
	// inline lets a publisher's goroutine process a message of an idle
	// lane itself. Only where processing never waits on the network: a
	// cluster's Valkey round trips must overlap on the lanes, not hold up
	// the publisher (a gateway's one connection carries many devices).
	// And only with one tenant: a publisher held by one tenant's busy
	// state must not hold up another tenant's messages it carries next
	// (TestBusyTenantDoesNotStallAnother); with one tenant every lane
	// waits for that state anyway.
	inline bool
	// wakes counts the lanes' goroutines woken to process a queue (the
	// hand-offs); inlined counts the messages processed by a publisher.
	wakes, inlined atomic.Uint64
}

// lane is one worker's queue. One goroutine at a time processes a lane's
// messages, in the order they were queued: the lane's own, or, while the
// lane is idle and inline, the publisher's (busy says one holds it). So a
// device's messages, which all map to one lane, keep their order whoever
// processes them.
type lane struct {
	mu   sync.Mutex
	busy bool // held by a goroutine processing; false: the queue is empty
	// q holds n messages from head, a ring of laneQueue.
	q       []devices.Message
	head, n int
	last    time.Time // when the last message came
	closed  bool      // stop has begun: the lane's goroutine ends once idle
	waiting int       // publishers waiting for room
	room    sync.Cond // signalled when a full queue has room
	wake    chan struct{}
}

// startLanes starts n lanes keyed by source, or, with byTenant, one lane
// per tenant.
func (b *Bridge) startLanes(n int, byTenant map[string]int) *lanes {
	l := &lanes{seed: maphash.MakeSeed(), ls: make([]*lane, n), byTenant: byTenant, route: b.router.LookupIndex,
		handle: b.handleMessage, inline: b.broker != nil && b.mem != nil && byTenant == nil}
	for _, s := range b.sources {
		_, seq := s.handler.(devices.Sequential)
		l.seq = append(l.seq, seq)
		l.tenants = append(l.tenants, s.tenant)
		l.bases = append(l.bases, s.base)
	}
	l.start()
	return l
}

// start starts the lanes' goroutines.
func (l *lanes) start() {
	for i := range l.ls {
		ln := &lane{q: make([]devices.Message, laneQueue), wake: make(chan struct{}, 1)}
		ln.room.L = &ln.mu
		l.ls[i] = ln
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for range ln.wake {
				ln.mu.Lock()
				l.drain(ln)
				ln.mu.Unlock()
			}
		}()
	}
}

// drain processes ln's queue until it is empty, then releases the lane.
// It is called with ln.mu held and busy set, and returns with ln.mu held.
func (l *lanes) drain(ln *lane) {
	for ln.n > 0 {
		m := ln.q[ln.head]
		ln.q[ln.head] = devices.Message{} // the payload is not kept alive
		ln.head = (ln.head + 1) % laneQueue
		ln.n--
		if ln.waiting > 0 {
			ln.room.Signal()
		}
		ln.mu.Unlock()
		l.handle(m)
		ln.mu.Lock()
	}
	ln.busy = false
}

func (l *lanes) enqueue(m devices.Message) {
	i := 0 // a message no source takes is rejected on lane 0
	if src, ok := l.route(m.Topic); ok {
		switch {
		case l.byTenant != nil:
			i = l.byTenant[l.tenants[src]]
		case l.seq[src]:
			i = src % len(l.ls)
		default:
			i = int(maphash.String(l.seed, laneKey(m.Topic, l.bases[src])) % uint64(len(l.ls)))
		}
	}
	l.ls[i].enqueue(l, m)
}

// enqueue hands m to the lane. An idle lane that is not hot (inline) has
// the caller process m itself, with no goroutine woken; otherwise m waits
// in the queue, the caller waking the lane's goroutine if the lane was
// idle, or waiting for room if the queue is full: a full lane holds back
// only the publishers of its devices.
func (ln *lane) enqueue(l *lanes, m devices.Message) {
	now := m.ReceivedAt
	if now.IsZero() {
		now = time.Now()
	}
	ln.mu.Lock()
	for ln.n == laneQueue {
		ln.waiting++
		ln.room.Wait()
		ln.waiting--
	}
	hot := now.Sub(ln.last) < laneHot
	ln.last = now
	if !ln.busy && ((l.inline && !hot) || ln.closed) {
		// After stop has begun the lane's goroutine may be gone: a late
		// message is processed here too (ingest stops calling before
		// the lanes stop, so this is only a straggler).
		ln.busy = true
		ln.mu.Unlock()
		l.inlined.Add(1)
		l.runInline(ln, m)
		return
	}
	ln.q[(ln.head+ln.n)%laneQueue] = m
	ln.n++
	if !ln.busy {
		ln.busy = true
		l.wakes.Add(1)
		ln.wake <- struct{}{} // never blocks: only the idle-to-busy edge sends
	}
	ln.mu.Unlock()
}

// runInline processes m on the caller's goroutine, which holds the lane
// (busy), then hands what was queued meanwhile to the lane's goroutine,
// or, once stop has begun, processes it too. The deferred release keeps a
// panicking handler (the ingest client recovers it) from leaving the lane
// held for ever.
func (l *lanes) runInline(ln *lane, m devices.Message) {
	defer func() {
		ln.mu.Lock()
		switch {
		case ln.n == 0:
			ln.busy = false
		case ln.closed:
			l.drain(ln)
		default:
			l.wakes.Add(1)
			ln.wake <- struct{}{}
		}
		ln.mu.Unlock()
	}()
	l.handle(m)
}

// laneKey is the part of topic that names its device: the source's base
// and the level after it (zigbee2mqtt/<device>, esphome/<device>,
// shellies/<device>, owntracks/<user>), or with no base the first two
// levels (tele/<device> for Tasmota). Every topic of one device (its state
// and its availability, its sensors) shares the key, so one lane processes
// them in the order they came: an online that came first is never merged
// after the offline that followed it. A family whose device sits deeper
// (TTN's v3/<app>/devices/<device>) keeps a coarser key: still in order,
// on fewer lanes.
func laneKey(topic, base string) string {
	i, levels := 0, 2
	if base != "" && len(topic) > len(base) && topic[len(base)] == '/' && strings.HasPrefix(topic, base) {
		i, levels = len(base)+1, 1
	}
	for ; levels > 0; levels-- {
		j := strings.IndexByte(topic[i:], '/')
		if j < 0 {
			return topic
		}
		i += j + 1
	}
	return topic[:i-1]
}

// ingestLanes starts the lanes this node runs the pipeline on (see lanes),
// or returns nil to run it on the MQTT client's goroutine.
//
// With the embedded broker there are always lanes, one at least: messages
// arrive on every publisher's goroutine at once, and a lane is what keeps
// one device's messages in order when they come over several connections
// (a zigbee2mqtt bridge and a script), and a devices.Sequential source's
// messages in one place.
func (b *Bridge) ingestLanes() *lanes {
	l := b.newLanes()
	if l != nil {
		b.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mqlive_ingest_lane_wakeups_total",
			Help: "Times an ingest lane's goroutine was woken to process its queue (each hand-off from a publisher).",
		}, func() float64 { return float64(l.wakes.Load()) }))
		b.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mqlive_ingest_inline_total",
			Help: "Messages processed on the goroutine of the device that published them, their lane being idle (no wake-up).",
		}, func() float64 { return float64(l.inlined.Load()) }))
	}
	return l
}

// newLanes is ingestLanes' choice of lanes.
func (b *Bridge) newLanes() *lanes {
	switch n := b.cfg.Cluster.IngestWorkers; {
	case n > 1:
		return b.startLanes(n, nil)
	case b.broker == nil:
		return nil
	case n == 1:
		return b.startLanes(1, nil)
	}
	if tl := b.tenantLanes(); len(tl) > 1 {
		return b.startLanes(len(tl), tl)
	}
	return b.startLanes(runtime.GOMAXPROCS(0), nil)
}

// tenantLanes numbers the tenants of the configured sources.
func (b *Bridge) tenantLanes() map[string]int {
	out := map[string]int{}
	for _, s := range b.sources {
		if _, ok := out[s.tenant]; !ok {
			out[s.tenant] = len(out)
		}
	}
	return out
}

// stop processes what is queued, for at most timeout, and returns.
func (l *lanes) stop(timeout time.Duration) {
	for _, ln := range l.ls {
		ln.mu.Lock()
		if !ln.closed {
			ln.closed = true
			close(ln.wake) // under mu: no enqueue sends after it (see lane.enqueue)
		}
		ln.mu.Unlock()
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
