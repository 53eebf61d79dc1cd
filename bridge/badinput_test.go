package bridge_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func TestBadInputIsCountedNeverCrashesNeverLeaks(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		twoTenants(c)
		c.Sources = append(c.Sources, bridge.SourceConfig{Family: "json", Tenant: "acme", Base: strp("acme/json"),
			JSON: &devices.JSONConfig{Pattern: "sensors/{device}/state"}})
	})
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "alice", "acme"))
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "bob", "globex"))
	globex.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)

	// A good device first, so that any leak into its state would show.
	b.Publish(t, "acme/zigbee2mqtt/good", []byte(`{"temperature":20}`))
	nextReading(t, acme, "devices")

	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	huge := append([]byte(`{"temperature":1,"pad":"`), bytes.Repeat([]byte("x"), 5<<20)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		topic, family, reason string
		payload               []byte
	}{
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidJSON, []byte(`{"temperature":21.`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidUTF8, []byte("{\"temperature\":1,\"x\":\"\xff\xfe\"}")},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonTooDeep, []byte(`{"a":` + deep + `}`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonTooLarge, huge},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidNumber, []byte(`{"temperature":1e400}`)},
		{"acme/zigbee2mqtt/bad", "zigbee2mqtt", devices.ReasonInvalidJSON, []byte(`{"temperature":NaN}`)},
		{"acme/tele/bad/SENSOR", "tasmota", devices.ReasonInvalidUTF8, []byte{0x00, 0x01, 0xfe, 0x80, 0x7f, 0x10}},
		{"acme/json/sensors/bad/state", "json", devices.ReasonInvalidUTF8, []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff}},
		{"acme/json/sensors/bad/state", "json", devices.ReasonInvalidJSON, []byte("\x01\x02binary\x00\x7f")},
	}
	for _, c := range cases {
		b.Publish(t, c.topic, c.payload)
	}
	keys := make([]rejectKey, len(cases))
	for i, c := range cases {
		keys[i] = rejectKey{c.family, c.reason}
	}
	waitRejected(t, b, "acme", keys)
	// The node is alive, the good device is untouched, nothing was emitted.
	b.Publish(t, "acme/zigbee2mqtt/good", []byte(`{"temperature":22}`))
	_, r := nextReading(t, acme, "devices")
	require.Equal(t, "good", r.Device, "no Reading was emitted for any bad message")
	require.Equal(t, 22.0, r.Metrics["temperature"])
	_, ok := globex.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "nothing reached another tenant")
	var res wire.SubscribeResult
	acme.MustCall("subscribe", wire.SubscribeParams{Channel: "device:bad"}, &res)
	require.Empty(t, res.Snapshot, "no device was created by bad input")
}

func TestMonitorShowsVerdicts(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	admin := bridgetest.Dial(t, b.WSURL)
	admin.Connect(b.Token(t, "root", "acme", func(c *auth.Claims) { c.Admin = true }))
	admin.MustCall("subscribe", wire.SubscribeParams{Channel: "monitor"}, nil)
	b.Publish(t, "acme/zigbee2mqtt/m1", []byte(`{"temperature":20}`))
	b.Publish(t, "acme/zigbee2mqtt/bridge/logging", []byte(`{"level":"info","message":"MQTT publish"}`))
	b.Publish(t, "acme/zigbee2mqtt/m1", []byte(`{broken`))
	b.Publish(t, "globex/zigbee2mqtt/other", []byte(`{"temperature":1}`))
	want := []string{`"verdict":"decoded"`, `"verdict":"ignored"`, `"verdict":"rejected","reason":"invalid_json"`}
	for _, w := range want {
		p, ok := admin.NextMessage(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "monitor", p.Channel)
		require.Contains(t, string(p.Data), w)
		require.Contains(t, string(p.Data), `"topic":"acme/zigbee2mqtt/`)
	}
	_, ok := admin.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "another tenant's traffic is not on this monitor")
}

// TestQoS1RedeliveriesAreSuppressedOnce makes a real broker redeliver: the
// bridge's PUBACK for a QoS 1 message is lost on the way to mosquitto and
// the connection drops, so mosquitto sends the message again, with DUP, when
// the bridge resumes its persistent session ([MQTT-4.4.0-1]). That copy is
// suppressed; the same payload published again by the device is not.
func TestQoS1RedeliveriesAreSuppressedOnce(t *testing.T) {
	mosq := bridgetest.StartMosquitto(t)
	proxy := startAckDropper(t, mosq.Addr)
	b := bridgetest.Start(t, func(c *bridge.Config) { c.MQTT.URL = "tcp://" + proxy.addr })
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	// The bridge subscribes before its broker connection counts as ready;
	// wait for that, then arm the proxy: the next PUBACK is lost.
	bridgetest.Eventually(t, 10*time.Second, func() error {
		if proxy.conns.Load() == 0 {
			return errors.New("the bridge has not connected through the proxy")
		}
		return nil
	})
	suppressed := metricsOf(b).DedupSuppressed.WithLabelValues("zigbee2mqtt", "default")
	pub := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(mosq), "device", true)
	send := func() {
		tok := pub.Publish("zigbee2mqtt/d1", 1, false, `{"temperature":20}`)
		require.True(t, tok.WaitTimeout(5*time.Second))
		require.NoError(t, tok.Error())
	}
	proxy.dropNextAck.Store(true)
	send()
	p1, _ := nextReading(t, c, "devices")
	bridgetest.Eventually(t, 30*time.Second, func() error {
		if proxy.dropped.Load() != 1 {
			return errors.New("no PUBACK dropped yet")
		}
		if proxy.conns.Load() < 2 {
			return errors.New("the bridge has not reconnected")
		}
		if got := testutil.ToFloat64(suppressed); got != 1 {
			return fmt.Errorf("suppressed %v redeliveries, want 1", got)
		}
		return nil
	})
	_, ok := c.NextMessage(200 * time.Millisecond)
	require.False(t, ok, "the redelivery was published")
	send() // the device really sent the same value again
	p2, _ := nextReading(t, c, "devices")
	require.Equal(t, p1.Offset+1, p2.Offset)
	require.Equal(t, 1.0, testutil.ToFloat64(suppressed))
}

// ackDropper is a TCP proxy in front of an MQTT broker that can lose one
// PUBACK sent by a client: it then cuts that client's connection, as a
// network failure between the client's PUBACK and the broker would.
type ackDropper struct {
	addr        string
	dropNextAck atomic.Bool
	dropped     atomic.Int32
	conns       atomic.Int32
}

func startAckDropper(t *testing.T, upstream string) *ackDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &ackDropper{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	track := func(cs ...net.Conn) {
		mu.Lock()
		open = append(open, cs...)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = down.Close()
				continue
			}
			track(down, up)
			p.conns.Add(1)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(down, up); _ = down.Close() }()
			go func() { defer wg.Done(); p.forward(down, up); _ = up.Close(); _ = down.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return p
}

// forward copies MQTT control packets from the client to the broker until
// either side fails, or until it drops an armed PUBACK.
func (p *ackDropper) forward(down, up net.Conn) {
	r := bufio.NewReader(down)
	for {
		pkt, err := readPacket(r)
		if err != nil {
			return
		}
		if pkt[0]>>4 == 4 && p.dropNextAck.CompareAndSwap(true, false) { // PUBACK, MQTT 3.1.1 §3.4
			p.dropped.Add(1)
			return
		}
		if _, err := up.Write(pkt); err != nil {
			return
		}
	}
}

// readPacket reads one MQTT control packet: fixed header, Remaining Length
// (MQTT 3.1.1 §2.2.3, at most four bytes), variable header and payload.
func readPacket(r *bufio.Reader) ([]byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	pkt := []byte{first}
	n, mult := 0, 1
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		pkt = append(pkt, c)
		n += int(c&127) * mult
		if c&128 == 0 {
			break
		}
		if i == 3 {
			return nil, errors.New("malformed remaining length")
		}
		mult *= 128
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(pkt, body...), nil
}
