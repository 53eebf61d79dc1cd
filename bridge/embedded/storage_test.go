package embedded

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"
)

// runBroker runs a broker with cfg on a free loopback port; stop closes it
// and waits for Run to return. stop is idempotent and also runs when the
// test ends.
func runBroker(t *testing.T, cfg Config) (*Broker, func()) {
	t.Helper()
	cfg.Listen, cfg.Logger = "127.0.0.1:0", quietLogger()
	b, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("broker Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return b, stop
}

func wait(t *testing.T, tok paho.Token) {
	t.Helper()
	require.True(t, tok.WaitTimeout(5*time.Second), "MQTT operation timed out")
	require.NoError(t, tok.Error())
}

func TestRetainedSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	b, stop := runBroker(t, Config{DataDir: dir})
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	pub := connect(t, b.URL(), "tasmota_plug")
	wait(t, pub.Publish("tele/plug/LWT", 1, true, []byte("Online")))
	pub.Disconnect(100)
	stop()

	b, _ = runBroker(t, Config{DataDir: dir})
	got := make(chan paho.Message, 1)
	sub := connect(t, b.URL(), "dashboard")
	wait(t, sub.Subscribe("tele/+/LWT", 1, func(_ paho.Client, m paho.Message) { got <- m }))
	select {
	case m := <-got:
		require.Equal(t, "tele/plug/LWT", m.Topic())
		require.Equal(t, "Online", string(m.Payload()))
		require.True(t, m.Retained())
	case <-time.After(5 * time.Second):
		t.Fatal("retained message lost in the restart")
	}
}

func TestPersistentSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, stop := runBroker(t, Config{DataDir: dir})

	const id = "bridge_ingest"
	received := make(chan paho.Message, 10)
	session := func(url string) (paho.Client, bool) {
		opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { received <- m })
		c := paho.NewClient(opts)
		tok := c.Connect()
		wait(t, tok)
		t.Cleanup(func() { c.Disconnect(100) })
		return c, tok.(*paho.ConnectToken).SessionPresent()
	}

	c, present := session(b.URL())
	require.False(t, present)
	wait(t, c.Subscribe("tele/+/SENSOR", 1, nil))
	c.Disconnect(100)
	// The broker keeps the session of the client that went away.
	require.Eventually(t, func() bool {
		cl, ok := b.srv.Clients.Get(id)
		return ok && cl.Closed()
	}, 5*time.Second, 5*time.Millisecond)

	pub := connect(t, b.URL(), "tasmota_plug")
	wait(t, pub.Publish("tele/plug/SENSOR", 1, false, []byte(`{"ENERGY":{"Power":11}}`)))
	wait(t, pub.Publish("tele/plug/SENSOR", 1, false, []byte(`{"ENERGY":{"Power":12}}`)))
	pub.Disconnect(100)
	require.Eventually(t, func() bool {
		cl, ok := b.srv.Clients.Get(id)
		return ok && cl.State.Inflight.Len() == 2
	}, 5*time.Second, 5*time.Millisecond, "the messages are queued for the absent client")
	stop()

	b, _ = runBroker(t, Config{DataDir: dir})
	_, present = session(b.URL())
	require.True(t, present, "the session is restored")
	// Both: mochi's bolt hook loses the packet ids, which boltStore
	// restores (with id 0 they would collide and be rejected). Not
	// necessarily in order: mochi v2.7.9 resends inflight messages sorted
	// by their creation second only ([MQTT-4.6.0-1] wants send order).
	var got []string
	for range 2 {
		select {
		case m := <-received:
			require.Equal(t, "tele/plug/SENSOR", m.Topic())
			require.Equal(t, byte(1), m.Qos())
			got = append(got, string(m.Payload()))
		case <-time.After(5 * time.Second):
			t.Fatal("queued QoS 1 message lost in the restart")
		}
	}
	require.ElementsMatch(t, []string{`{"ENERGY":{"Power":11}}`, `{"ENERGY":{"Power":12}}`}, got)

	// The subscription was restored too: a new message arrives without
	// subscribing again.
	pub = connect(t, b.URL(), "tasmota_plug")
	wait(t, pub.Publish("tele/plug/SENSOR", 1, false, []byte(`{"ENERGY":{"Power":13}}`)))
	select {
	case m := <-received:
		require.JSONEq(t, `{"ENERGY":{"Power":13}}`, string(m.Payload()))
	case <-time.After(5 * time.Second):
		t.Fatal("restored subscription does not deliver")
	}
}

func TestDataDirLockedUntilClose(t *testing.T) {
	dir := t.TempDir()
	b, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger(), DataDir: dir})
	require.NoError(t, err)
	_, err = New(Config{Listen: "127.0.0.1:0", Logger: quietLogger(), DataDir: dir})
	require.Error(t, err, "two brokers must not share a data dir")
	require.Contains(t, err.Error(), filepath.Join(dir, "broker.db"))

	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	b, err = New(Config{Listen: "127.0.0.1:0", Logger: quietLogger(), DataDir: dir})
	require.NoError(t, err, "Close releases the file")
	require.NoError(t, b.Close())
}

func TestDataDirCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger(), DataDir: filepath.Join(file, "data")})
	require.Error(t, err)
	require.Contains(t, err.Error(), "data dir")
}
