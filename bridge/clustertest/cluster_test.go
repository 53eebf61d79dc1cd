package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	bridgetest.RemoveBinaries()
	if code == 0 {
		// fasthttp's dialer pool parks goroutines by design; everything a
		// test starts must be gone.
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1")); err != nil {
			fmt.Fprintln(os.Stderr, "clustertest: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestSameOffsetsOnEveryNode: three nodes ingest from one broker and agree
// on every publication of the devices channel.
func TestSameOffsetsOnEveryNode(t *testing.T) {
	c := startCluster(t, 3)
	var streams []*stream
	for i, n := range c.nodes {
		streams = append(streams, newStream(t, fmt.Sprintf("user-%d", i), n.WSURL, "devices"))
	}
	const n = 200
	pub := newPublisher(t, c.broker, "pub-a")
	pub.publishN(n)
	acked := pub.ackedSeqs()
	require.Len(t, acked, n)
	for _, s := range streams {
		s.waitSeqs(acked, wait)
		s.requireOnce(acked)
		require.Len(t, s.offsets, n, "%s: one publication per message", s.name)
	}
	for _, s := range streams[1:] {
		require.Equal(t, streams[0].epoch, s.epoch, "one epoch on every node")
		require.Equal(t, streams[0].offsets, s.offsets, "the same offsets on every node")
	}
	t.Logf("%d clients on %d nodes each received all %d readings once, offsets %d..%d", len(streams), len(c.nodes), n,
		streams[0].offsets[0], streams[0].offsets[n-1])
}

// TestNodeCrash: a node is killed under a steady publication rate; its
// dashboards resume on the other nodes with since and miss nothing, the
// dead node's presence entries go, and no acknowledged message is lost.
func TestNodeCrash(t *testing.T) {
	c := startCluster(t, 3)
	victim := c.nodes[2]
	var streams, orphans []*stream
	for i, n := range c.nodes {
		for j := 0; j < 2; j++ {
			s := newStream(t, fmt.Sprintf("user-%d-%d", i, j), n.WSURL, "devices")
			streams = append(streams, s)
			if n == victim {
				orphans = append(orphans, s)
			}
		}
	}
	bridgetest.Eventually(t, wait, func() error {
		if p := presenceNodes(t, streams[0].c, "devices"); sumValues(p) != 6 || p[victim.Name] != 2 {
			return fmt.Errorf("presence by node: %v", p)
		}
		return nil
	})

	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range streams {
				t.Logf("%s on %s: epoch %s, last offset %d, %d distinct seqs", s.name, s.node, s.epoch, s.last, len(s.seqs))
			}
		}
	})
	// 100 messages a second for 4 seconds.
	pub := newPublisher(t, c.broker, "pub-b")
	const rate, total = 100, 400
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := 0; i < total; i++ {
			<-tick.C
			if _, err := pub.publish(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	bridgetest.Eventually(t, wait, func() error {
		if n := len(pub.ackedSeqs()); n < total/3 {
			return fmt.Errorf("%d messages published", n)
		}
		return nil
	})

	atKill := len(pub.ackedSeqs())
	victim.Kill()
	killed := time.Now()
	t.Logf("killed %s after seq %d was acknowledged", victim.Name, atKill)
	for i, s := range orphans {
		_, ok := s.c.WaitClosed(5 * time.Second)
		require.True(t, ok, "%s: connection to the killed node not closed", s.name)
		s.drain()
		before := s.last
		res := s.reconnect(c.nodes[i%2].WSURL)
		require.True(t, res.Recovered, "%s: recovered on %s", s.name, s.node)
		require.Equal(t, s.epoch, res.Epoch)
		require.Equal(t, res.Offset, s.last, "%s: recovered publications up to the result's offset", s.name)
		t.Logf("%s: resumed on %s after %v, %d publications recovered", s.name, s.node, time.Since(killed).Round(time.Millisecond), s.last-before)
	}
	recovered := time.Since(killed)
	t.Logf("kill -9 to every client recovered: %v", recovered.Round(time.Millisecond))

	// No ghosts: the dead node's sessions leave presence within two
	// heartbeats (plus the once-a-second sweep).
	bridgetest.Eventually(t, 2*heartbeat+time.Second+500*time.Millisecond, func() error {
		if n := presenceNodes(t, streams[0].c, "devices")[victim.Name]; n > 0 {
			return fmt.Errorf("%d sessions of %s still present", n, victim.Name)
		}
		return nil
	})
	t.Logf("kill -9 to no presence entry of %s: %v", victim.Name, time.Since(killed).Round(time.Millisecond))
	require.Equal(t, 6, sumValues(presenceNodes(t, streams[0].c, "devices")), "every dashboard present once, on a live node")

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("publisher did not finish")
	}
	acked := pub.ackedSeqs()
	require.Len(t, acked, total)
	for _, s := range streams {
		s.waitSeqs(acked, wait)
	}
	for _, s := range streams {
		s.requireOnce(acked)
		require.Equal(t, streams[0].last, s.last, "%s: same last offset", s.name)
		require.Equal(t, streams[0].epoch, s.epoch)
		require.Zero(t, s.lagged, "%s: lagged", s.name)
	}
	t.Logf("%d acknowledged messages, each exactly once on %d dashboards (2 moved from the killed node)", total, len(streams))
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestRedisRestartedEmpty: Valkey loses everything; the nodes say not
// ready meanwhile, every dashboard is told it lagged, re-syncs from a
// snapshot under a new epoch, and delivery resumes without a node restart.
func TestRedisRestartedEmpty(t *testing.T) {
	needTools(t, false)
	redis := bridgetest.StartRedis(t)
	c := startCluster(t, 2, redis.Addr)
	var streams []*stream
	for i, n := range c.nodes {
		streams = append(streams, newStream(t, fmt.Sprintf("user-%d", i), n.WSURL, "devices"))
	}
	pub := newPublisher(t, c.broker, "pub-c")
	pub.publishN(20)
	for _, s := range streams {
		s.waitSeqs(pub.ackedSeqs(), wait)
	}
	oldEpoch := streams[0].epoch

	redis.Kill()
	for _, n := range c.nodes {
		n.WaitNotReady(t, 10*time.Second)
	}
	redis.Start(t)
	for _, n := range c.nodes {
		n.WaitReady(t, wait)
	}
	for _, s := range streams {
		bridgetest.Eventually(t, wait, func() error {
			s.drain()
			if s.lagged == 0 {
				return fmt.Errorf("%s: no lagged notice", s.name)
			}
			return nil
		})
		res, raw := s.resubscribe()
		require.False(t, res.Recovered, "%s: history is gone", s.name)
		require.NotEqual(t, oldEpoch, res.Epoch, "%s: a new epoch", s.name)
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &fields))
		require.Contains(t, fields, "snapshot", "%s: a snapshot replaces the client's state", s.name)
		s.epoch, s.last = res.Epoch, res.Offset
	}

	pub.publishN(20)
	acked := pub.ackedSeqs()
	for _, s := range streams {
		s.waitSeqs(acked, wait)
		s.requireOnce(acked)
		require.Equal(t, streams[0].epoch, s.epoch)
		require.Equal(t, streams[0].last, s.last)
	}
	// The latest state is rebuilt from what arrived since.
	late := bridgetest.Dial(t, c.nodes[1].WSURL)
	late.Connect(bridgetest.Token(t, "late", "default"))
	var res wire.SubscribeResult
	late.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, &res)
	require.Len(t, res.Snapshot, 10, "every device that sent since the restart")
}

// TestMosquittoRestart: the broker restarts with persistence; no QoS 1
// message it acknowledged before or after is lost, and none is doubled.
func TestMosquittoRestart(t *testing.T) {
	c := startCluster(t, 2)
	var streams []*stream
	for i, n := range c.nodes {
		streams = append(streams, newStream(t, fmt.Sprintf("user-%d", i), n.WSURL, "devices"))
	}
	pub := newPublisher(t, c.broker, "pub-d")
	pub.publishN(100)
	// Stop at once: some messages may still be queued for the nodes.
	streams[0].drain()
	c.broker.Stop()
	t.Logf("%s had %d of 100 readings when mosquitto stopped", streams[0].name, len(streams[0].seqs))
	for _, n := range c.nodes {
		n.WaitNotReady(t, 10*time.Second)
	}
	c.broker.Start(t)
	for _, n := range c.nodes {
		n.WaitReady(t, wait)
	}
	pub.mq = bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "pub-d", false)
	pub.publishN(100)
	acked := pub.ackedSeqs()
	require.Len(t, acked, 200)
	for _, s := range streams {
		s.waitSeqs(acked, wait)
		s.requireOnce(acked)
		require.Equal(t, streams[0].last, s.last)
	}
}

// TestRedisCluster: on a Redis Cluster, sharded pub/sub carries a Reading
// ingested by one node to a dashboard on the other, for channels whose
// keys live on different shards.
func TestRedisCluster(t *testing.T) {
	needTools(t, false)
	var addrs []string
	for _, p := range bridgetest.StartRedisCluster(t, 3) {
		addrs = append(addrs, p.Addr)
	}
	c := startCluster(t, 1, addrs...)
	// Node B listens to a broker nobody publishes to: everything it
	// delivers was ingested by node A.
	other := bridgetest.StartMosquitto(t)
	b := c.addNode(t, other)
	var streams []*stream
	for i := 0; i < 10; i++ {
		streams = append(streams, newStream(t, fmt.Sprintf("user-%d", i), b.WSURL, "device:"+deviceOf(i)))
	}
	all := newStream(t, "all", b.WSURL, "devices")
	pub := newPublisher(t, c.broker, "pub-e")
	pub.publishN(30)
	acked := pub.ackedSeqs()
	for i, s := range streams {
		want := map[int]bool{}
		for seq := range acked {
			if seq%10 == i {
				want[seq] = true
			}
		}
		s.waitSeqs(want, wait)
		s.requireOnce(want)
	}
	all.waitSeqs(acked, wait)
	all.requireOnce(acked)
}

// TestSignOutRevokeAcrossNodes: a push and a forced sign-out sent to node
// A's admin API reach a session on node C; the signed-out token is refused
// by node B and by a node started after the sign-out; a token revoked on
// node A is refused by node B.
func TestSignOutRevokeAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	a, b, cn := c.nodes[0], c.nodes[1], c.nodes[2]

	carolTok := bridgetest.Token(t, "carol", "default")
	carol := bridgetest.Dial(t, cn.WSURL)
	carol.Connect(carolTok)
	carol.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "user:carol"}, nil)
	code, body := a.Admin(t, http.MethodPost, "publish", "default", map[string]any{"channel": "user:carol", "data": map[string]string{"hello": "carol"}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	p, ok := carol.NextMessage(wait)
	require.True(t, ok, "push from node A reaches node C")
	require.Equal(t, "user:carol", p.Channel)
	require.JSONEq(t, `{"hello":"carol"}`, string(p.Data))

	code, body = a.Admin(t, http.MethodPost, "signout", "default", map[string]string{"user": "carol"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	var disc wire.DisconnectParams
	bridgetest.Eventually(t, wait, func() error {
		f, ok := carol.Next(100 * time.Millisecond)
		if !ok {
			return fmt.Errorf("no disconnect notice")
		}
		if f.Method != wire.MethodDisconnect {
			return fmt.Errorf("frame %s before the disconnect notice", f.Raw)
		}
		return json.Unmarshal(f.Params, &disc)
	})
	require.Equal(t, wire.CodeForbidden, disc.Code)
	require.False(t, disc.Reconnect)
	closeCode, ok := carol.WaitClosed(wait)
	require.True(t, ok)
	require.Equal(t, 4003, closeCode)
	// The sign-out refuses carol's token everywhere, on a node started
	// later too (from Valkey), at connect and at refresh.
	late := c.addNode(t, c.broker)
	for _, n := range []*bridgetest.Node{b, cn, late} {
		again := bridgetest.Dial(t, n.WSURL)
		_, rerr := again.Call(wire.MethodConnect, wire.ConnectParams{Token: carolTok})
		require.NotNil(t, rerr, "node %s accepts the signed-out token", n.Name)
		require.Equal(t, wire.CodeUnauthorized, rerr.Code)
		require.Contains(t, rerr.Message, "signed out")
	}
	var fresh *bridgetest.Client
	bridgetest.Eventually(t, wait, func() error { // a token of a later second works
		fresh = bridgetest.Dial(t, late.WSURL)
		if _, rerr := fresh.Call(wire.MethodConnect, wire.ConnectParams{Token: bridgetest.Token(t, "carol", "default")}); rerr != nil {
			return fmt.Errorf("%s", rerr.Message)
		}
		return nil
	})
	_, rerr := fresh.Call(wire.MethodRefresh, wire.RefreshParams{Token: carolTok})
	require.NotNil(t, rerr, "refresh with the signed-out token")
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)

	tok := bridgetest.Token(t, "dave", "default", func(c *auth.Claims) { c.ID = "jti-dave-1" })
	dave := bridgetest.Dial(t, b.WSURL)
	dave.Connect(tok)
	code, body = a.Admin(t, http.MethodPost, "revoke", "default", map[string]string{"jti": "jti-dave-1"})
	require.Equal(t, http.StatusOK, code, "%s", body)
	closeCode, ok = dave.WaitClosed(wait)
	require.True(t, ok, "the revoked token's session on node B is closed")
	require.Equal(t, 4003, closeCode)
	again := bridgetest.Dial(t, b.WSURL)
	_, rerr = again.Call(wire.MethodConnect, wire.ConnectParams{Token: tok})
	require.NotNil(t, rerr, "a revoked token is refused at connect")
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)
}

// TestNginxFailover: behind nginx without sticky sessions, a dashboard
// whose node dies reconnects through nginx to another node and recovers.
func TestNginxFailover(t *testing.T) {
	needTools(t, true)
	c := startCluster(t, 3)
	var ups []string
	for _, n := range c.nodes {
		ups = append(ups, n.Addr)
	}
	lb := bridgetest.StartNginx(t, ups)
	url := "ws://" + lb.Addr + "/ws"
	s := newStream(t, "roamer", url, "devices")
	pub := newPublisher(t, c.broker, "pub-g")
	pub.publishN(20)
	s.waitSeqs(pub.ackedSeqs(), wait)

	dead := c.nodeNamed(s.node)
	dead.Kill()
	_, ok := s.c.WaitClosed(wait)
	require.True(t, ok)
	pub.publishN(20) // missed while away
	res := s.reconnect(url)
	require.NotEqual(t, dead.Name, s.node, "nginx skips the dead node")
	require.True(t, res.Recovered)
	pub.publishN(20)
	acked := pub.ackedSeqs()
	s.waitSeqs(acked, wait)
	s.requireOnce(acked)
	t.Logf("moved from %s to %s through nginx, recovered:true, %d messages once each", dead.Name, s.node, len(acked))
}

// TestCommandAcrossNodes: a dashboard on node B commands a device whose
// traffic node A ingests; the family's MQTT command reaches the broker.
func TestCommandAcrossNodes(t *testing.T) {
	c := startCluster(t, 2)
	got := make(chan paho.Message, 10)
	obs := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "observer", true)
	tok := obs.Subscribe("zigbee2mqtt/+/set", 1, func(_ paho.Client, m paho.Message) { got <- m })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	mq := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "lamp-sim", true)
	tok = mq.Publish("zigbee2mqtt/lamp-1", 1, false, `{"state":"OFF","brightness":10}`)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	dash := bridgetest.Dial(t, c.nodes[1].WSURL)
	dash.Connect(bridgetest.Token(t, "operator", "default", func(c *auth.Claims) { c.Cmd = []string{"lamp-*"} }))
	bridgetest.Eventually(t, wait, func() error {
		var res wire.SubscribeResult
		dash.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:lamp-1"}, &res)
		if len(res.Snapshot) != 1 {
			return fmt.Errorf("lamp-1 not known yet")
		}
		return nil
	})
	var res wire.CommandResult
	dash.MustCall(wire.MethodCommand, wire.CommandParams{Device: "lamp-1", Name: "set", Args: []byte(`{"state":"ON"}`)}, &res)
	require.True(t, res.Accepted)
	select {
	case m := <-got:
		require.Equal(t, "zigbee2mqtt/lamp-1/set", m.Topic())
		require.JSONEq(t, `{"state":"ON"}`, string(m.Payload()))
	case <-time.After(wait):
		t.Fatal("no command on the broker")
	}
	require.False(t, strings.Contains(c.nodes[1].Output(), "panic"))
}
