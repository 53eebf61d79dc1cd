package bridge_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
)

// withUsers adds mqtt.users: a device account of each tenant of
// twoTenants, whose publish filter ("#") is as wide as it gets, so that
// only the tenant confines it.
func withUsers(t *testing.T) bridgetest.Option {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	return func(c *bridge.Config) {
		twoTenants(c)
		c.MQTT.Users = []bridge.MQTTUser{
			{Username: "acme-dev", PasswordHash: string(h), Tenant: "acme", Publish: []string{"#"}, Subscribe: []string{"acme/cmnd/#"}},
			{Username: "globex-dev", PasswordHash: string(h), Tenant: "globex", Publish: []string{"#"}},
		}
	}
}

// mqttClient connects a real MQTT client (tcp:// or ws://) with
// credentials and returns it with its CONNECT error.
func mqttClient(t *testing.T, url, id, user, pass string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4)
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "connect timed out")
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(100) })
	}
	return c, tok.Error()
}

func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 0, false, payload)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
}

// TestBrokerAccessControl: a device of acme cannot publish into globex's
// sources (nothing reaches globex's dashboards), a wrong password is
// refused, and both hold over MQTT over WebSocket too.
func TestBrokerAccessControl(t *testing.T) {
	b := bridgetest.Start(t, withUsers(t))
	wsURL := "ws://" + b.HTTPAddr() + "/mqtt"
	globex := bridgetest.Dial(t, b.WSURL)
	globex.Connect(b.Token(t, "gina", "globex"))
	globex.MustCall("subscribe", map[string]string{"channel": "devices"}, nil)
	acme := bridgetest.Dial(t, b.WSURL)
	acme.Connect(b.Token(t, "alice", "acme"))
	acme.MustCall("subscribe", map[string]string{"channel": "devices"}, nil)

	for _, url := range []string{b.MQTTURL, wsURL} {
		_, err := mqttClient(t, url, "anon", "", "")
		require.Error(t, err, "anonymous client admitted on %s", url)
		_, err = mqttClient(t, url, "wrong", "acme-dev", "nope")
		require.Error(t, err, "wrong password admitted on %s", url)
	}

	for i, url := range []string{b.MQTTURL, wsURL} {
		dev, err := mqttClient(t, url, fmt.Sprintf("acme-dev-%d", i), "acme-dev", "pw")
		require.NoError(t, err)
		// Into globex's Zigbee2MQTT source: denied, so never a Reading.
		publish(t, dev, "globex/zigbee2mqtt/intruder", `{"temperature":99}`)
		publish(t, dev, "acme/zigbee2mqtt/"+fmt.Sprintf("legit-%d", i), `{"temperature":21}`)
		_, r := nextReading(t, acme, "devices")
		require.Equal(t, fmt.Sprintf("legit-%d", i), r.Device)
	}

	// globex's first Reading is its own device's, published after the
	// intrusions: they never became Readings.
	gdev, err := mqttClient(t, b.MQTTURL, "globex-dev", "globex-dev", "pw")
	require.NoError(t, err)
	publish(t, gdev, "globex/zigbee2mqtt/own", `{"temperature":5}`)
	_, r := nextReading(t, globex, "devices")
	require.Equal(t, "own", r.Device)
	require.Equal(t, 2.0, metricVec(t, b, "mqlive_broker_acl_denied_total", "publish"))
}

// metricVec reads one labelled counter from the bridge's registry.
func metricVec(t *testing.T, b *bridgetest.Bridge, name, label string) float64 {
	t.Helper()
	mfs, err := b.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestMQTTOverWebSocket: without users a local MQTT client over
// WebSocket publishes like a TCP one, and its message becomes a Reading.
func TestMQTTOverWebSocket(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", map[string]string{"channel": "devices"}, nil)
	dev, err := mqttClient(t, "ws://"+b.HTTPAddr()+"/mqtt", "ws-dev", "", "")
	require.NoError(t, err)
	publish(t, dev, "zigbee2mqtt/over-ws", `{"temperature":19.5}`)
	_, r := nextReading(t, c, "devices")
	require.Equal(t, "over-ws", r.Device)
	require.Equal(t, 19.5, r.Metrics["temperature"])
}

// TestMQTTOverWebSocketNeedsSubprotocol: an upgrade without the mqtt
// subprotocol gets HTTP 400 and a one-line reason.
func TestMQTTOverWebSocketNeedsSubprotocol(t *testing.T) {
	b := bridgetest.Start(t)
	for _, proto := range []string{"", "mqlive.v1"} {
		req, err := http.NewRequest(http.MethodGet, "http://"+b.HTTPAddr()+"/mqtt", nil)
		require.NoError(t, err)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if proto != "" {
			req.Header.Set("Sec-WebSocket-Protocol", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "offered %q", proto)
		require.Equal(t, 1, strings.Count(string(body), "\n"), "%q", body)
		require.Contains(t, string(body), "Sec-WebSocket-Protocol: mqtt")
	}
}

// TestMQTTOverWebSocketRelayedNotAnonymous: without users, a WebSocket
// forwarded by a proxy (X-Forwarded-For) or opened by a page of another
// origin is not admitted anonymously, although its peer is loopback.
func TestMQTTOverWebSocketRelayedNotAnonymous(t *testing.T) {
	b := bridgetest.Start(t)
	for name, hdr := range map[string]http.Header{
		"proxied":      {"X-Forwarded-For": {"203.0.113.7"}},
		"cross-origin": {"Origin": {"https://evil.example"}},
	} {
		opts := paho.NewClientOptions().AddBroker("ws://" + b.HTTPAddr() + "/mqtt").SetClientID(name).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4).SetHTTPHeaders(hdr)
		c := paho.NewClient(opts)
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.Error(t, tok.Error(), name)
		require.Contains(t, tok.Error().Error(), "not Authorized", name)
	}
	require.Equal(t, 2.0, metricVec(t, b, "mqlive_broker_connect_refused_total", "anonymous"))
}

// TestNoMQTTOverWebSocketWithUpstreamBroker: /mqtt is the embedded
// broker's; with mqtt.url the node does not upgrade it.
func TestNoMQTTOverWebSocketWithUpstreamBroker(t *testing.T) {
	mosq := bridgetest.StartMosquitto(t)
	b := bridgetest.Start(t, func(c *bridge.Config) { c.MQTT.URL = bridgetest.MQTTURL(mosq) })
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial("ws://"+b.HTTPAddr()+"/mqtt", nil)
	require.Error(t, err)
	require.NotNil(t, resp)
	require.NotEqual(t, http.StatusSwitchingProtocols, resp.StatusCode)
}

// TestStopWithMQTTOverWebSocketClient: a node stops while an MQTT client
// is connected over /mqtt (the HTTP server cannot finish while the broker
// holds the connection, so the bridge closes those first); Stop panics
// after 30 s.
func TestStopWithMQTTOverWebSocketClient(t *testing.T) {
	b := bridgetest.Start(t)
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().AddBroker("ws://" + b.HTTPAddr() + "/mqtt").SetClientID("stays").
		SetAutoReconnect(false).SetProtocolVersion(4).SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	c := paho.NewClient(opts)
	require.True(t, c.Connect().WaitTimeout(5*time.Second))
	defer c.Disconnect(0)
	b.Stop()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the client was not disconnected")
	}
}
