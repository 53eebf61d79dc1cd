package embedded

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/stretchr/testify/require"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker runs a broker on a free loopback port until the test ends.
func startBroker(t *testing.T) *Broker {
	t.Helper()
	return startWith(t, Config{Listen: "127.0.0.1:0"})
}

func connect(t *testing.T, url, id string) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "connect timed out")
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func TestPublishSubscribe(t *testing.T) {
	b := startBroker(t)
	require.True(t, strings.HasPrefix(b.URL(), "tcp://127.0.0.1:"), b.URL())
	require.NotEqual(t, "127.0.0.1:0", b.Addr())

	got := make(chan paho.Message, 1)
	sub := connect(t, b.URL(), "sub")
	tok := sub.Subscribe("zigbee2mqtt/+", 1, func(_ paho.Client, m paho.Message) { got <- m })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	pub := connect(t, b.URL(), "pub")
	tok = pub.Publish("zigbee2mqtt/kitchen", 1, false, []byte(`{"temperature":21.5}`))
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	select {
	case m := <-got:
		require.Equal(t, "zigbee2mqtt/kitchen", m.Topic())
		require.JSONEq(t, `{"temperature":21.5}`, string(m.Payload()))
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber received nothing")
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	_, err = New(Config{Listen: ln.Addr().String(), Logger: quietLogger()})
	require.Error(t, err)
	for _, want := range []string{"already in use", "mqtt.listen", "MQLIVE_MQTT_LISTEN", "--mqtt-listen"} {
		require.Contains(t, err.Error(), want)
	}
}

func TestCloseIdempotentAndReleasesPort(t *testing.T) {
	b, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger()})
	require.NoError(t, err)
	addr := b.Addr()
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	// Run after Close returns at once instead of serving a closed broker.
	require.NoError(t, b.Run(context.Background()))
	require.ErrorIs(t, b.Run(context.Background()), ErrAlreadyRun)

	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "port not released by Close")
	require.NoError(t, ln.Close())
}

func TestCloseStopsRunAndClients(t *testing.T) {
	b, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger()})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()

	lost := make(chan struct{})
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("c").SetAutoReconnect(false).
		SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	require.NoError(t, b.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("client was not disconnected by Close")
	}
}

func TestURLUnspecifiedHost(t *testing.T) {
	b, err := New(Config{Listen: ":0", Logger: quietLogger()})
	require.NoError(t, err)
	defer b.Close()
	require.True(t, strings.HasPrefix(b.URL(), "tcp://"), b.URL())
	require.NotContains(t, b.URL(), "[::]")
	_, port, err := net.SplitHostPort(b.Addr())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(b.URL(), ":"+port))
}

// TestCloseWhileClientsLeave: Close never deadlocks while clients leave
// (mochi's GetByListener read-locks its client map twice, and a client
// removed in between hung the broker at shutdown; see Broker.disconnect).
// The clients connect before Close and only leave during it: a client
// joining during Close races mochi's own WaitGroup, which is not this
// test's business.
func TestCloseWhileClientsLeave(t *testing.T) {
	for round := 0; round < 10; round++ {
		b, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger()})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- b.Run(context.Background()) }()
		conns := make([]net.Conn, 150)
		for i := range conns {
			conns[i] = connectRaw(t, b.Addr(), fmt.Sprintf("leaving-%d-%d", round, i))
		}
		var wg sync.WaitGroup
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(conns); i += 3 {
					_ = conns[i].Close()
				}
			}()
		}
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("Close deadlocked while clients left")
		}
		wg.Wait()
		require.NoError(t, <-done)
	}
}

// connectRaw connects a clean-session client over a bare TCP connection
// (paho's packet codec, no client goroutines) and returns the connection.
func connectRaw(t *testing.T, addr, id string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession, cp.ClientIdentifier, cp.Keepalive = "MQTT", 4, true, id, 30
	require.NoError(t, cp.Write(c))
	ack, err := packets.ReadPacket(c)
	require.NoError(t, err)
	require.Zero(t, ack.(*packets.ConnackPacket).ReturnCode)
	return c
}
