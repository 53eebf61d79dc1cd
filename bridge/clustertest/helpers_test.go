package clustertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// heartbeat is the cluster heartbeat of every test node: a node counts as
// gone after two missed ones.
const heartbeat = time.Second

// wait bounds every condition a test polls for.
const wait = 20 * time.Second

// needTools skips the test when an outside server is not installed.
func needTools(t *testing.T, nginx bool) {
	t.Helper()
	bridgetest.NeedBinary(t, bridgetest.RedisPath, "redis-server")
	bridgetest.NeedBinary(t, bridgetest.MosquittoPath, "mosquitto")
	if nginx {
		bridgetest.NeedBinary(t, bridgetest.NginxPath, "nginx")
	}
}

// cluster is a set of bridge nodes on one backplane and one broker.
type cluster struct {
	t      *testing.T
	bin    string
	conf   string
	valkey []string
	broker *bridgetest.Process
	nodes  []*bridgetest.Node
}

// startCluster starts a standalone redis-server (unless valkey names
// servers already running), mosquitto and n nodes named node-a, node-b…
func startCluster(t *testing.T, n int, valkey ...string) *cluster {
	t.Helper()
	needTools(t, false)
	c := &cluster{t: t, bin: bridgetest.BuildBinary(t)}
	if len(valkey) == 0 {
		valkey = []string{bridgetest.StartRedis(t).Addr}
	}
	c.valkey = valkey
	c.broker = bridgetest.StartMosquitto(t)
	// There is no variable for the heartbeat: a config file carries it.
	c.conf = filepath.Join(t.TempDir(), "mqlive.yaml")
	require.NoError(t, os.WriteFile(c.conf, []byte(fmt.Sprintf("cluster:\n  heartbeat: %s\n", heartbeat)), 0o600))
	for i := 0; i < n; i++ {
		c.addNode(t, c.broker)
	}
	return c
}

// addNode starts one more node ingesting from broker.
func (c *cluster) addNode(t *testing.T, broker *bridgetest.Process) *bridgetest.Node {
	t.Helper()
	name := "node-" + string(rune('a'+len(c.nodes)))
	n := bridgetest.StartNode(t, c.bin, name, map[string]string{
		"MQLIVE_CONFIG":            c.conf,
		"MQLIVE_MQTT_URL":          bridgetest.MQTTURL(broker),
		"MQLIVE_CLUSTER_BACKPLANE": "valkey",
		"MQLIVE_VALKEY_ADDRS":      strings.Join(c.valkey, ","),
	})
	c.nodes = append(c.nodes, n)
	return n
}

// publisher sends device messages at QoS 1 and remembers which ones the
// broker acknowledged.
type publisher struct {
	t  *testing.T
	mq paho.Client

	mu    sync.Mutex
	next  int
	acked map[int]bool
}

func newPublisher(t *testing.T, broker *bridgetest.Process, id string) *publisher {
	t.Helper()
	return &publisher{t: t, mq: bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(broker), id, false), acked: map[int]bool{}}
}

// deviceOf spreads the sequence numbers over ten devices.
func deviceOf(seq int) string { return fmt.Sprintf("dev-%d", seq%10) }

// publish sends the next sequence number as a zigbee2mqtt state message
// (an unknown numeric key becomes the metric "seq") and waits for the
// PUBACK. It returns the error instead of failing, for use from a
// goroutine and across a broker restart.
func (p *publisher) publish() (int, error) {
	p.mu.Lock()
	p.next++
	seq := p.next
	p.mu.Unlock()
	payload := fmt.Sprintf(`{"temperature":%d.5,"seq":%d}`, 15+seq%10, seq)
	tok := p.mq.Publish("zigbee2mqtt/"+deviceOf(seq), 1, false, payload)
	if !tok.WaitTimeout(10 * time.Second) {
		return seq, fmt.Errorf("publish seq %d: no PUBACK within 10s", seq)
	}
	if err := tok.Error(); err != nil {
		return seq, fmt.Errorf("publish seq %d: %w", seq, err)
	}
	p.mu.Lock()
	p.acked[seq] = true
	p.mu.Unlock()
	return seq, nil
}

// publishN publishes n messages and fails the test on any error.
func (p *publisher) publishN(n int) {
	p.t.Helper()
	for i := 0; i < n; i++ {
		_, err := p.publish()
		require.NoError(p.t, err)
	}
}

// ackedSeqs returns the acknowledged sequence numbers.
func (p *publisher) ackedSeqs() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int]bool, len(p.acked))
	for k := range p.acked {
		out[k] = true
	}
	return out
}

// stream is one dashboard's view of the devices channel: a client, the
// epoch and last offset it has, and every sequence number it received.
// It checks as it goes that offsets follow each other without a gap or a
// repeat within one epoch.
type stream struct {
	t       *testing.T
	name    string
	channel string
	token   string
	c       *bridgetest.Client
	node    string // node of the current connection

	epoch   string
	last    uint64
	offsets []uint64
	seqs    map[int]int    // seq -> times received
	devices map[string]int // device -> Readings received
	lagged  int
}

// newStream connects to url and subscribes channel in stream mode.
func newStream(t *testing.T, name, url, channel string) *stream {
	t.Helper()
	s := &stream{t: t, name: name, channel: channel, token: bridgetest.Token(t, name, "default"), seqs: map[int]int{}, devices: map[string]int{}}
	s.dial(url)
	var res wire.SubscribeResult
	s.c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: channel}, &res)
	s.epoch, s.last = res.Epoch, res.Offset
	return s
}

func (s *stream) dial(url string) {
	s.t.Helper()
	s.c = bridgetest.Dial(s.t, url)
	s.node = s.c.Connect(s.token).Node
}

// accept records one publication of the channel.
func (s *stream) accept(p wire.Publication) {
	s.t.Helper()
	if p.Channel != s.channel {
		return
	}
	if s.epoch == "" && s.last == 0 {
		// A channel never published to has no epoch yet (the Valkey
		// store creates nothing on read); its first publication brings it.
		s.epoch = p.Epoch
	}
	require.Equal(s.t, s.epoch, p.Epoch, "%s: epoch of offset %d", s.name, p.Offset)
	require.Equal(s.t, s.last+1, p.Offset, "%s (on %s): offsets must follow each other (no gap, no repeat)", s.name, s.node)
	s.last = p.Offset
	s.offsets = append(s.offsets, p.Offset)
	var r struct {
		Device  string         `json:"device"`
		Metrics map[string]any `json:"metrics"`
	}
	require.NoError(s.t, json.Unmarshal(p.Data, &r))
	s.devices[r.Device]++
	if seq, ok := r.Metrics["seq"].(float64); ok {
		s.seqs[int(seq)]++
	}
}

// drain takes every message the client has buffered and counts lagged
// notices.
func (s *stream) drain() {
	s.t.Helper()
	for {
		f, ok := s.c.Next(0)
		if !ok {
			return
		}
		switch f.Method {
		case wire.MethodMessage:
			var p wire.Publication
			require.NoError(s.t, json.Unmarshal(f.Params, &p))
			s.accept(p)
		case wire.MethodLagged:
			s.lagged++
		}
	}
}

// resubscribe subscribes again with since on the current connection and
// returns the result, accepting the recovered publications that come
// before it. The result's raw JSON is returned too.
func (s *stream) resubscribe() (wire.SubscribeResult, json.RawMessage) {
	s.t.Helper()
	s.drain()
	id := s.c.Request(wire.MethodSubscribe, wire.SubscribeParams{Channel: s.channel, Since: &wire.StreamPosition{Epoch: s.epoch, Offset: s.last}})
	for {
		f, ok := s.c.Next(10 * time.Second)
		require.True(s.t, ok, "%s: no subscribe result within 10s", s.name)
		switch {
		case f.Method == wire.MethodMessage:
			var p wire.Publication
			require.NoError(s.t, json.Unmarshal(f.Params, &p))
			s.accept(p)
		case f.Method == wire.MethodLagged:
			s.lagged++
		case f.Method == "" && string(f.ID) == id:
			require.Nil(s.t, f.Error, "%s: subscribe", s.name)
			var res wire.SubscribeResult
			require.NoError(s.t, json.Unmarshal(f.Result, &res))
			return res, f.Result
		}
	}
}

// reconnect dials url after the old connection died, and subscribes with
// since. The old connection's buffered messages are taken first.
func (s *stream) reconnect(url string) wire.SubscribeResult {
	s.t.Helper()
	s.drain()
	s.dial(url)
	res, _ := s.resubscribe()
	return res
}

// waitOffset drains until the stream has reached offset.
func (s *stream) waitOffset(offset uint64, timeout time.Duration) {
	s.t.Helper()
	bridgetest.Eventually(s.t, timeout, func() error {
		s.drain()
		if s.last < offset {
			return fmt.Errorf("%s: at offset %d, want %d", s.name, s.last, offset)
		}
		return nil
	})
}

// waitSeqs drains until every seq in want was received.
func (s *stream) waitSeqs(want map[int]bool, timeout time.Duration) {
	s.t.Helper()
	bridgetest.Eventually(s.t, timeout, func() error {
		s.drain()
		var missing []int
		for seq := range want {
			if s.seqs[seq] == 0 {
				missing = append(missing, seq)
			}
		}
		if len(missing) > 0 {
			sort.Ints(missing)
			if len(missing) > 10 {
				missing = missing[:10]
			}
			return fmt.Errorf("%s: %d of %d acknowledged messages not received (at offset %d), e.g. seq %v",
				s.name, len(missing), len(want), s.last, missing)
		}
		return nil
	})
}

// requireOnce checks that every seq in want was received exactly once and
// nothing else was.
func (s *stream) requireOnce(want map[int]bool) {
	s.t.Helper()
	for seq, n := range s.seqs {
		require.Equal(s.t, 1, n, "%s: seq %d received %d times", s.name, seq, n)
		require.True(s.t, want[seq], "%s: seq %d was never acknowledged", s.name, seq)
	}
	require.Len(s.t, s.seqs, len(want), "%s: every acknowledged message exactly once", s.name)
}

// nodeNamed returns the node with the given name.
func (c *cluster) nodeNamed(name string) *bridgetest.Node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %q", name)
	return nil
}

// presence lists the nodes of every session subscribed to channel, as the
// client sees them.
func presenceNodes(t *testing.T, c *bridgetest.Client, channel string) map[string]int {
	t.Helper()
	var res wire.PresenceResult
	c.MustCall(wire.MethodPresence, wire.ChannelParams{Channel: channel}, &res)
	out := map[string]int{}
	for _, cl := range res.Clients {
		out[cl.Node]++
	}
	return out
}
