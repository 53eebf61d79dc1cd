//go:build !js

package nativews

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/wasm/client"
)

const waitFor = 15 * time.Second

// recorder keeps every event of a client for polling assertions.
type recorder struct {
	mu  sync.Mutex
	evs []client.Event
}

func (r *recorder) on(e client.Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

// waitEvent polls until an event after index from matches, returning its index.
func (r *recorder) waitEvent(t *testing.T, from int, pred func(client.Event) bool) (client.Event, int) {
	t.Helper()
	var got client.Event
	idx := -1
	bridgetest.Eventually(t, waitFor, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := from; i < len(r.evs); i++ {
			if pred(r.evs[i]) {
				got, idx = r.evs[i], i
				return nil
			}
		}
		return errNotYet
	})
	return got, idx
}

func (r *recorder) len() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.evs) }

var errNotYet = &client.Error{Message: "event not seen yet"}

func newClient(t *testing.T, cfg client.Config) (*client.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.OnEvent = rec.on
	if cfg.MinReconnectDelay == 0 {
		cfg.MinReconnectDelay = 50
		cfg.MaxReconnectDelay = 500
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Close()
		select {
		case <-c.Done():
		case <-time.After(waitFor):
			t.Error("client did not stop")
		}
	})
	return c, rec
}

func connectSync(t *testing.T, c *client.Client) {
	t.Helper()
	errc := make(chan error, 1)
	c.Connect(func(err error) { errc <- err })
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("not connected")
	}
}

type outcome struct {
	v   client.Value
	err error
}

func call(t *testing.T, f func(client.Done)) (client.Value, error) {
	t.Helper()
	ch := make(chan outcome, 1)
	f(func(v client.Value, err error) { ch <- outcome{v, err} })
	select {
	case o := <-ch:
		return o.v, o.err
	case <-time.After(waitFor):
		t.Fatal("no reply")
	}
	return nil, nil
}

func isDevice(id string, metric string, v float64) func(client.Event) bool {
	return func(e client.Event) bool {
		return e.Kind == client.EvDevice && e.Device.ID == id && e.Device.Metrics[metric].Num == v
	}
}

func TestBridgeDeviceTableAndRestart(t *testing.T) {
	b := bridgetest.Start(t)
	c, rec := newClient(t, client.Config{URL: b.WSURL, Token: b.Token(t, "alice", "default")})
	connectSync(t, c)
	_, err := call(t, func(d client.Done) { c.Subscribe("devices", client.SubscribeOptions{Mode: "latest"}, d) })
	require.NoError(t, err)

	b.Publish(t, "zigbee2mqtt/kitchen", []byte(`{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120}`))
	ev, _ := rec.waitEvent(t, 0, isDevice("kitchen", "temperature", 21.5))
	require.Equal(t, "zigbee2mqtt", ev.Device.Family)
	b.Publish(t, "zigbee2mqtt/kitchen", []byte(`{"temperature":22}`))
	ev, _ = rec.waitEvent(t, 0, isDevice("kitchen", "temperature", 22))
	require.Equal(t, 48.2, ev.Device.Metrics["humidity"].Num, "metrics merge per key")

	// Kill and restart the bridge on the same ports: the client backs off,
	// reconnects and replays its subscription.
	mark := rec.len()
	b.Restart(t)
	st, _ := rec.waitEvent(t, mark, func(e client.Event) bool { return e.Kind == client.EvState && e.Attempt > 0 })
	require.Equal(t, client.StateConnecting, st.State)
	_, i := rec.waitEvent(t, mark, func(e client.Event) bool { return e.Kind == client.EvConnected })
	sub, _ := rec.waitEvent(t, i, func(e client.Event) bool { return e.Kind == client.EvSubscribed && e.Channel == "devices" })
	require.False(t, sub.Recovered, "the restarted bridge lost its history: a new epoch")
	b.Publish(t, "zigbee2mqtt/kitchen", []byte(`{"temperature":23.5}`))
	rec.waitEvent(t, i, isDevice("kitchen", "temperature", 23.5))
}

func TestBridgeRecoversMissedPublications(t *testing.T) {
	b := bridgetest.Start(t)
	c, rec := newClient(t, client.Config{URL: b.WSURL, Token: b.Token(t, "bob", "default")})
	connectSync(t, c)
	_, err := call(t, func(d client.Done) { c.Subscribe("device:hall", client.SubscribeOptions{}, d) })
	require.NoError(t, err)
	b.Publish(t, "zigbee2mqtt/hall", []byte(`{"co2":500}`))
	rec.waitEvent(t, 0, isDevice("hall", "co2", 500))

	// A second client sees when the bridge has published what the first
	// one misses: ingest is asynchronous to the broker's acknowledgement.
	w, wrec := newClient(t, client.Config{URL: b.WSURL, Token: b.Token(t, "watcher", "default")})
	connectSync(t, w)
	_, err = call(t, func(d client.Done) { w.Subscribe("device:hall", client.SubscribeOptions{}, d) })
	require.NoError(t, err)

	c.Disconnect()
	rec.waitEvent(t, 0, func(e client.Event) bool { return e.Kind == client.EvDisconnected })
	b.Publish(t, "zigbee2mqtt/hall", []byte(`{"co2":600}`))
	b.Publish(t, "zigbee2mqtt/hall", []byte(`{"co2":700}`))
	wrec.waitEvent(t, 0, isDevice("hall", "co2", 700))
	mark := rec.len()
	connectSync(t, c)
	sub, si := rec.waitEvent(t, mark, func(e client.Event) bool { return e.Kind == client.EvSubscribed })
	require.True(t, sub.Recovered)
	_, p1 := rec.waitEvent(t, mark, isDevice("hall", "co2", 600))
	_, p2 := rec.waitEvent(t, mark, isDevice("hall", "co2", 700))
	require.Less(t, p1, p2)
	require.Less(t, p2, si, "recovered publications arrive before the subscribe result")
}

func TestBridgeRequests(t *testing.T) {
	b := bridgetest.Start(t)
	tok := b.Token(t, "carol", "default", func(c *auth.Claims) {
		c.Pub = []string{"app:*"}
		c.Chan = []string{"devices", "app:*"}
	})
	c, rec := newClient(t, client.Config{URL: b.WSURL, Token: tok})
	connectSync(t, c)
	_, err := call(t, func(d client.Done) { c.Subscribe("app:chat", client.SubscribeOptions{}, d) })
	require.NoError(t, err)
	res, err := call(t, func(d client.Done) { c.Publish("app:chat", client.Wrap(map[string]any{"text": "hi"}), d) })
	require.NoError(t, err)
	require.Equal(t, client.Number, res.Get("offset").Kind())
	ev, _ := rec.waitEvent(t, 0, func(e client.Event) bool { return e.Kind == client.EvPublication && e.Channel == "app:chat" })
	require.Equal(t, "hi", ev.Data.Get("data").Get("text").Str())

	hist, err := call(t, func(d client.Done) { c.History("app:chat", client.HistoryOptions{Limit: 10}, d) })
	require.NoError(t, err)
	require.Equal(t, 1, hist.Get("publications").Len())

	pres, err := call(t, func(d client.Done) { c.Presence("app:chat", d) })
	require.NoError(t, err)
	require.Equal(t, "carol", pres.Get("clients").Index(0).Get("user").Str())

	_, err = call(t, func(d client.Done) { c.Ping(d) })
	require.NoError(t, err)

	// Not allowed: 4003 and the connection stays open.
	_, err = call(t, func(d client.Done) { c.Subscribe("monitor", client.SubscribeOptions{}, d) })
	require.Equal(t, client.CodePermissionDenied, err.(*client.Error).Code)
	_, err = call(t, func(d client.Done) { c.Ping(d) })
	require.NoError(t, err)
}

func TestBridgeBadTokenStops(t *testing.T) {
	b := bridgetest.Start(t)
	c, rec := newClient(t, client.Config{URL: b.WSURL, Token: "not-a-jwt"})
	errc := make(chan error, 1)
	c.Connect(func(err error) { errc <- err })
	select {
	case err := <-errc:
		require.Equal(t, client.CodeUnauthorized, err.(*client.Error).Code)
	case <-time.After(waitFor):
		t.Fatal("no answer")
	}
	ev, _ := rec.waitEvent(t, 0, func(e client.Event) bool { return e.Kind == client.EvDisconnected })
	require.Equal(t, client.CodeUnauthorized, ev.Code)
}

func TestBridgeTokenRefresh(t *testing.T) {
	b := bridgetest.Start(t)
	const ttl = 3 * time.Second
	var calls atomic.Int32
	getToken := func() (string, error) {
		calls.Add(1)
		return bridgetest.Token(t, "dave", "default", func(c *auth.Claims) {
			c.ExpiresAt = jwtTime(time.Now().Add(ttl))
		}), nil
	}
	c, rec := newClient(t, client.Config{URL: b.WSURL, GetToken: getToken})
	connectSync(t, c)
	connected := time.Now()
	first, idx := rec.waitEvent(t, 0, func(e client.Event) bool { return e.Kind == client.EvConnected })
	session := first.Data.Get("session").Str()
	require.NotEmpty(t, session)
	// The client refreshes before expiry (once a second for such a short
	// token). Wait until the first token is well past its expiry and has
	// been refreshed several times: a bridge that ignored refresh would have
	// closed the socket with 4010 at the first expiry, and the client would
	// have reconnected with a new session.
	bridgetest.Eventually(t, waitFor, func() error {
		if calls.Load() < 4 || time.Since(connected) < ttl+2*time.Second {
			return errNotYet
		}
		return nil
	})
	rec.mu.Lock()
	after := append([]client.Event(nil), rec.evs[idx+1:]...)
	rec.mu.Unlock()
	for _, e := range after {
		switch e.Kind {
		case client.EvState, client.EvConnected, client.EvDisconnected:
			t.Fatalf("the session did not outlive its first token: event %d (state %v, code %d %q) after connect", e.Kind, e.State, e.Code, e.Reason)
		case client.EvError:
			t.Fatalf("error after connect: %v", e.Err)
		}
	}
	_, err := call(t, func(d client.Done) { c.Ping(d) })
	require.NoError(t, err)
	rec.mu.Lock()
	for _, e := range rec.evs {
		if e.Kind == client.EvConnected {
			require.Equal(t, session, e.Data.Get("session").Str(), "a new session replaced the first")
		}
	}
	rec.mu.Unlock()
}

func TestDialRefusedRetries(t *testing.T) {
	b := bridgetest.Start(t)
	url := b.WSURL
	b.Stop()
	c, rec := newClient(t, client.Config{URL: url, Token: "x"})
	c.Connect(nil)
	rec.waitEvent(t, 0, func(e client.Event) bool { return e.Kind == client.EvState && e.Attempt >= 2 })
}

func jwtTime(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }
