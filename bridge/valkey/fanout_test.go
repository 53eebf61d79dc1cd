package valkey_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vk "github.com/valkey-io/valkey-go"
	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/valkey"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// foRecorder is a fanout.Handler that keeps what it is given.
type foRecorder struct {
	mu   sync.Mutex
	pubs map[string][]*state.Publication // by tenant/channel
	lost map[string]int
	// notify, when set, gets every delivery (never blocks: buffered by
	// the test).
	notify chan *state.Publication
}

func newFoRecorder() *foRecorder {
	return &foRecorder{pubs: make(map[string][]*state.Publication), lost: make(map[string]int)}
}

func (r *foRecorder) Deliver(tenant string, p *state.Publication) {
	r.mu.Lock()
	r.pubs[tenant+"/"+p.Channel] = append(r.pubs[tenant+"/"+p.Channel], p)
	r.mu.Unlock()
	if r.notify != nil {
		r.notify <- p
	}
}

func (r *foRecorder) Lost(tenant, channel string) {
	r.mu.Lock()
	r.lost[tenant+"/"+channel]++
	r.mu.Unlock()
}

func (r *foRecorder) got(key string) []*state.Publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*state.Publication(nil), r.pubs[key]...)
}

func (r *foRecorder) lostCount(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost[key]
}

// foNoLeaks fails the test if goroutines it started outlive it; call it
// first so that it runs after every other cleanup.
func foNoLeaks(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/valkey-io/valkey-go.(*clusterClient)._refresh.func2")}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// foPoll calls cond every 5 ms until it holds, failing after timeout.
func foPoll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// foNode is one bridge node: a client, a store and a fan-out.
type foNode struct {
	c   vk.Client
	s   *valkey.Store
	f   *valkey.Fanout
	rec *foRecorder
}

func newFoNode(t testing.TB, c vk.Client, prefix string) *foNode {
	rec := newFoRecorder()
	s := valkey.NewStore(c, prefix, valkey.StoreOptions{})
	f := valkey.NewFanout(s, rec, nil)
	t.Cleanup(f.Close)
	return &foNode{c: c, s: s, f: f, rec: rec}
}

func readingData(t testing.TB, id string, i int) ([]byte, *devices.Reading) {
	r := &devices.Reading{Device: id, Family: "f", TS: time.Unix(int64(i), 0).UTC(), Metrics: map[string]any{"i": float64(i)}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return b, r
}

// TestFanoutTwoNodes: two nodes subscribed to one channel see the same
// publications, with consecutive offsets in the same order, under
// concurrent publishers on both.
func TestFanoutTwoNodes(t *testing.T) {
	foNoLeaks(t)
	p := bridgetest.StartRedis(t)
	ctx := storeTestCtx(t)
	a := newFoNode(t, storeTestClient(t, p.Addr), "")
	b := newFoNode(t, storeTestClient(t, p.Addr), "")
	ch := mustChannel(t, "devices")
	for _, n := range []*foNode{a, b} {
		require.NoError(t, n.f.Subscribe(ctx, "t", ch.Name))
		require.True(t, n.f.Subscribed("t", ch.Name))
	}
	const publishers, each = 4, 25
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		published = map[uint64]string{}
	)
	for g := 0; g < publishers; g++ {
		node := []*foNode{a, b}[g%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				data, r := readingData(t, fmt.Sprint("d", g), i)
				pub, err := node.f.Publish(ctx, "t", ch, data, r)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				published[pub.Offset] = string(data)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, published, publishers*each, "every publication got its own offset")
	const n = publishers * each
	for _, node := range []*foNode{a, b} {
		foPoll(t, 10*time.Second, "deliveries", func() bool { return len(node.rec.got("t/devices")) >= n })
	}
	ga, gb := a.rec.got("t/devices"), b.rec.got("t/devices")
	require.Len(t, ga, n)
	require.Len(t, gb, n)
	perDevice := map[string]float64{}
	for i := range ga {
		require.Equal(t, uint64(i+1), ga[i].Offset, "offsets consecutive, in order")
		require.Equal(t, ga[i].Frame, gb[i].Frame, "both nodes build the same frame")
		require.Equal(t, ga[0].Epoch, ga[i].Epoch)
		require.Equal(t, published[ga[i].Offset], string(ga[i].Data))
		require.NotNil(t, ga[i].Reading)
		// Each publisher's own publications arrive in its order.
		last, seen := perDevice[ga[i].Reading.Device]
		require.True(t, !seen || ga[i].Reading.Metrics["i"].(float64) > last)
		perDevice[ga[i].Reading.Device] = ga[i].Reading.Metrics["i"].(float64)
	}
	// What was delivered is what the history holds.
	pubs, pos, ok, err := a.s.Since(ctx, "t", ch, wire.StreamPosition{Epoch: ga[0].Epoch, Offset: 0})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(n), pos.Offset)
	for i := range pubs {
		require.Equal(t, ga[i].Frame, pubs[i].Frame)
	}
}

// TestFanoutSubscribeUnsubscribe: a publication made right after
// Subscribe returns is delivered; none after Unsubscribe.
func TestFanoutSubscribeUnsubscribe(t *testing.T) {
	foNoLeaks(t)
	p := bridgetest.StartRedis(t)
	ctx := storeTestCtx(t)
	pub := newFoNode(t, storeTestClient(t, p.Addr), "")
	sub := newFoNode(t, storeTestClient(t, p.Addr), "")
	chA, chB := mustChannel(t, "app:a"), mustChannel(t, "user:b")
	for i := 0; i < 20; i++ {
		name := fmt.Sprint("app:s", i)
		require.NoError(t, sub.f.Subscribe(ctx, "t", name))
		_, err := pub.f.Publish(ctx, "t", mustChannel(t, name), []byte(`{}`), nil)
		require.NoError(t, err)
	}
	for i := 0; i < 20; i++ {
		key := fmt.Sprint("t/app:s", i)
		foPoll(t, 5*time.Second, key, func() bool { return len(sub.rec.got(key)) == 1 })
		require.Nil(t, sub.rec.got(key)[0].Reading, "app data is not a Reading")
	}

	require.NoError(t, sub.f.Subscribe(ctx, "t", chA.Name))
	require.NoError(t, sub.f.Subscribe(ctx, "t", chA.Name), "subscribing twice is fine")
	require.NoError(t, sub.f.Subscribe(ctx, "t", chB.Name))
	require.NoError(t, sub.f.Unsubscribe(ctx, "t", chA.Name))
	require.False(t, sub.f.Subscribed("t", chA.Name))
	require.NoError(t, sub.f.Unsubscribe(ctx, "t", chA.Name), "unsubscribing twice is fine")
	_, err := pub.f.Publish(ctx, "t", chA, []byte(`{"a":1}`), nil)
	require.NoError(t, err)
	_, err = pub.f.Publish(ctx, "t", chB, []byte(`{"b":1}`), nil)
	require.NoError(t, err)
	// Both topics are on the subscriber's one connection, in order: once
	// b arrived, a would have.
	foPoll(t, 5*time.Second, "b delivered", func() bool { return len(sub.rec.got("t/user:b")) == 1 })
	require.Empty(t, sub.rec.got("t/app:a"))
	n, err := sub.c.Do(ctx, sub.c.B().PubsubShardnumsub().Channel(valkey.StoreTopic(sub.s, "t", "app:a")).Build()).AsIntMap()
	require.NoError(t, err)
	require.Zero(t, n[valkey.StoreTopic(sub.s, "t", "app:a")], "the server dropped the subscription")

	require.Error(t, sub.f.Subscribe(ctx, "t", "bogus:x"))
}

// TestFanoutSubscribeRollsBack: a Subscribe the server cannot confirm
// before ctx ends leaves nothing behind.
func TestFanoutSubscribeRollsBack(t *testing.T) {
	foNoLeaks(t)
	p := bridgetest.StartRedis(t)
	n := newFoNode(t, storeTestClient(t, p.Addr), "")
	p.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, n.f.Subscribe(ctx, "t", "app:x"), context.DeadlineExceeded)
	require.False(t, n.f.Subscribed("t", "app:x"))
	require.Zero(t, valkey.FanoutSubscriptions(n.f))
}

// TestFanoutLostAfterRestart: when the server restarts, every subscribed
// channel gets Lost once it is subscribed again, and delivery resumes.
func TestFanoutLostAfterRestart(t *testing.T) {
	foNoLeaks(t)
	p := bridgetest.StartRedis(t)
	ctx := storeTestCtx(t)
	n := newFoNode(t, storeTestClient(t, p.Addr), "")
	chans := []string{"app:a", "devices", wire.TagChannel("room", "hall")}
	var first *state.Publication
	for _, name := range chans {
		require.NoError(t, n.f.Subscribe(ctx, "t", name))
		pub, err := n.f.Publish(ctx, "t", mustChannel(t, name), []byte(`{"device":"x","family":"f"}`), nil)
		require.NoError(t, err)
		first = pub
		foPoll(t, 5*time.Second, name, func() bool { return len(n.rec.got("t/"+name)) == 1 })
		require.Zero(t, n.rec.lostCount("t/"+name))
	}

	p.Kill()
	p.Start(t)
	for _, name := range chans {
		foPoll(t, 20*time.Second, "lost "+name, func() bool { return n.rec.lostCount("t/"+name) >= 1 })
	}
	// Lost comes after the subscription is back: a publication now is
	// delivered, in a new epoch (the server lost its data).
	for _, name := range chans {
		// A request that was in flight on a broken connection fails
		// once; appends are not retried blindly (not idempotent).
		var pub *state.Publication
		foPoll(t, 10*time.Second, "publish after restart", func() bool {
			var err error
			pub, err = n.f.Publish(ctx, "t", mustChannel(t, name), []byte(`{"device":"y","family":"f"}`), nil)
			return err == nil
		})
		require.Equal(t, uint64(1), pub.Offset)
		require.NotEqual(t, first.Epoch, pub.Epoch)
		foPoll(t, 5*time.Second, "delivered after restart "+name, func() bool { return len(n.rec.got("t/"+name)) == 2 })
		got := n.rec.got("t/" + name)[1]
		require.Equal(t, pub.Frame, got.Frame)
		require.Equal(t, name != "app:a", got.Reading != nil)
	}
}

// TestFanoutCluster: sharded pub/sub on a 3-master cluster, channels
// spread over every shard, publisher and subscriber on different clients;
// the store works there too (every script on one slot).
func TestFanoutCluster(t *testing.T) {
	foNoLeaks(t)
	nodes := bridgetest.StartRedisCluster(t, 3)
	addrs := []string{nodes[0].Addr, nodes[1].Addr, nodes[2].Addr}
	ctx := storeTestCtx(t)
	pub := newFoNode(t, storeTestClient(t, addrs...), "")
	sub := newFoNode(t, storeTestClient(t, addrs...), "")
	require.Equal(t, vk.ClientModeCluster, pub.c.Mode())

	var chans []string
	for i := 0; i < 12; i++ {
		chans = append(chans, fmt.Sprint("app:c", i))
	}
	for _, name := range chans {
		require.NoError(t, sub.f.Subscribe(ctx, "t", name))
	}
	// Which shard holds which subscription.
	shards := map[string]string{}
	for addr, nc := range pub.c.Nodes() {
		got, err := nc.Do(ctx, nc.B().PubsubShardchannels().Build()).AsStrSlice()
		require.NoError(t, err)
		for _, topic := range got {
			require.NotContains(t, shards, topic, "one shard per channel")
			shards[topic] = addr
		}
	}
	require.Len(t, shards, len(chans))
	used := map[string]bool{}
	for _, a := range shards {
		used[a] = true
	}
	require.Len(t, used, 3, "channels land on every shard")

	var wg sync.WaitGroup
	for _, name := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := pub.f.Publish(ctx, "t", mustChannel(t, name), []byte(fmt.Sprintf(`{"i":%d}`, i)), nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, name := range chans {
		key := "t/" + name
		foPoll(t, 10*time.Second, key, func() bool { return len(sub.rec.got(key)) == 5 })
		for i, p := range sub.rec.got(key) {
			require.Equal(t, uint64(i+1), p.Offset)
			require.JSONEq(t, fmt.Sprintf(`{"i":%d}`, i), string(p.Data))
		}
		page, err := sub.s.History(ctx, "t", mustChannel(t, name), state.HistoryQuery{Reverse: true, Limit: 2})
		require.NoError(t, err)
		require.Equal(t, []uint64{5, 4}, offsets(page.Publications))
		require.False(t, page.Complete)
	}

	// Device state of several tenants (on different slots).
	for i := 0; i < 6; i++ {
		r := &devices.Reading{Device: "d", Family: "f", TS: time.Now()}
		require.NoError(t, pub.s.Apply(ctx, fmt.Sprint("tenant", i), r, state.Meta{StaleAfter: time.Nanosecond}))
	}
	counts, err := sub.s.DeviceCounts(ctx)
	require.NoError(t, err)
	require.Len(t, counts, 6)
	snap, err := sub.s.Snapshot(ctx, "tenant3", mustChannel(t, "devices"))
	require.NoError(t, err)
	require.Len(t, snap, 1)
	foPoll(t, 5*time.Second, "sweep", func() bool {
		stale, err := sub.s.SweepStale(ctx)
		require.NoError(t, err)
		return len(stale) == 6
	})
}

// foCountConn counts the requests written on a connection.
type foCountConn struct {
	net.Conn
	writes, pings *atomic.Int64
}

func (c *foCountConn) Write(p []byte) (int, error) {
	// Keep-alive pings and the handshake of a new connection (HELLO,
	// CLIENT SETINFO) are not requests of ours.
	if bytes.Contains(p, []byte("PING")) || bytes.Contains(p, []byte("HELLO")) || bytes.Contains(p, []byte("CLIENT")) {
		c.pings.Add(1)
	} else {
		c.writes.Add(1)
	}
	return c.Conn.Write(p)
}

// foCommandStats reads INFO commandstats: command → calls.
func foCommandStats(t testing.TB, ctx context.Context, c vk.Client) map[string]int64 {
	info, err := c.Do(ctx, c.B().Info().Section("commandstats").Build()).ToString()
	require.NoError(t, err)
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		out[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(calls, 10, 64)
	}
	return out
}

// TestFanoutPublishOneRoundTrip: a publication (append + fan-out) is one
// request from the publisher and one EVALSHA on the server.
func TestFanoutPublishOneRoundTrip(t *testing.T) {
	foNoLeaks(t)
	p := bridgetest.StartRedis(t)
	ctx := storeTestCtx(t)
	var writes, pings atomic.Int64
	opt := valkey.ClientOption(valkey.Config{Addrs: []string{p.Addr}})
	opt.DialCtxFn = func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return &foCountConn{Conn: conn, writes: &writes, pings: &pings}, nil
	}
	c, err := vk.NewClient(opt)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	pub := newFoNode(t, c, "")
	sub := newFoNode(t, storeTestClient(t, p.Addr), "")
	ch := mustChannel(t, "app:rt")
	require.NoError(t, sub.f.Subscribe(ctx, "t", ch.Name))
	// The first one loads the script (EVALSHA, NOSCRIPT, EVAL).
	_, err = pub.f.Publish(ctx, "t", ch, []byte(`{}`), nil)
	require.NoError(t, err)

	const n = 20
	before := foCommandStats(t, ctx, sub.c)
	w0 := writes.Load()
	for i := 0; i < n; i++ {
		_, err := pub.f.Publish(ctx, "t", ch, []byte(`{"x":1}`), nil)
		require.NoError(t, err)
	}
	require.Equal(t, int64(n), writes.Load()-w0, "one request per publication")
	after := foCommandStats(t, ctx, sub.c)
	require.Equal(t, int64(n), after["evalsha"]-before["evalsha"], "one EVALSHA per publication")
	require.Equal(t, before["eval"], after["eval"])
	require.Equal(t, int64(n), after["spublish"]-before["spublish"], "fanned out inside the script")
	foPoll(t, 5*time.Second, "deliveries", func() bool { return len(sub.rec.got("t/app:rt")) == n+1 })
}

// foEncode is the Go twin of the append script's payload, for the fuzz
// target.
func foEncode(epoch string, off uint64, ms int64, data []byte) string {
	return fmt.Sprintf("1 %s %d %d\n%s", epoch, off, ms, data)
}

func TestDecodePayload(t *testing.T) {
	ch := mustChannel(t, "device:x")
	p, err := valkey.DecodePayload(ch, foEncode("abc", 7, 1700000000123, []byte("{\"device\":\"x\",\n\"family\":\"f\"}")))
	require.NoError(t, err)
	require.Equal(t, "abc", p.Epoch)
	require.Equal(t, uint64(7), p.Offset)
	require.Equal(t, int64(1700000000123), p.Time.UnixMilli())
	require.Equal(t, "x", p.Reading.Device)
	for _, bad := range []string{"", "1 abc 7 1", "2 abc 7 1\n{}", "1 abc x 1\n{}", "1 abc 7\n{}", "1 abc 7 y\n{}"} {
		_, err := valkey.DecodePayload(ch, bad)
		require.ErrorIs(t, err, valkey.ErrBadPayload, "%q", bad)
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add("e1", uint64(1), int64(0), []byte(`{}`), "1 e 1 2\n{}")
	f.Add("", uint64(0), int64(-5), []byte("\n\n"), "1  1 2\n")
	ch := wire.Channel{Name: "devices", Kind: wire.KindDevices}
	f.Fuzz(func(t *testing.T, epoch string, off uint64, ms int64, data []byte, raw string) {
		_, _ = valkey.DecodePayload(ch, raw) // never panics
		if strings.ContainsAny(epoch, " \n") {
			return
		}
		p, err := valkey.DecodePayload(ch, foEncode(epoch, off, ms, data))
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if p.Epoch != epoch || p.Offset != off || p.Time.UnixMilli() != ms || !bytes.Equal(p.Data, data) {
			t.Fatalf("round trip: got %q %d %d %q", p.Epoch, p.Offset, p.Time.UnixMilli(), p.Data)
		}
	})
}
