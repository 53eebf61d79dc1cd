package bridge

import (
	"context"
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
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
type lanes struct {
	seed     maphash.Seed
	seq      []bool // per source: devices.Sequential
	chs      []chan devices.Message
	wg       sync.WaitGroup
	byTenant map[string]int // lane of each tenant; nil: by source
	route    func(topic string) (source int, ok bool)
	tenants  []string // per source
	bases    []string // per source
}

// startLanes starts n lanes keyed by source, or, with byTenant, one lane
// per tenant.
func (b *Bridge) startLanes(n int, byTenant map[string]int) *lanes {
	l := &lanes{seed: maphash.MakeSeed(), chs: make([]chan devices.Message, n), byTenant: byTenant, route: b.router.LookupIndex}
	for _, s := range b.sources {
		_, seq := s.handler.(devices.Sequential)
		l.seq = append(l.seq, seq)
		l.tenants = append(l.tenants, s.tenant)
		l.bases = append(l.bases, s.base)
	}
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
	i := 0 // a message no source takes is rejected on lane 0
	if src, ok := l.route(m.Topic); ok {
		switch {
		case l.byTenant != nil:
			i = l.byTenant[l.tenants[src]]
		case l.seq[src]:
			i = src % len(l.chs)
		default:
			i = int(maphash.String(l.seed, laneKey(m.Topic, l.bases[src])) % uint64(len(l.chs)))
		}
	}
	l.chs[i] <- m
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
