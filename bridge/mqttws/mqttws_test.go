package mqttws_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/bridge/mqttws"
)

// server runs an embedded broker and a Fiber app serving /mqtt from it,
// both on free loopback ports, until the test ends.
func server(t *testing.T) (broker *embedded.Broker, wsURL string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: log})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- b.Run(ctx) }()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	mqttws.Register(app, mqttws.Config{Broker: b, Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	appDone := make(chan error, 1)
	go func() { appDone <- app.Listener(ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-brokerDone)
		require.NoError(t, app.ShutdownWithTimeout(5*time.Second))
		<-appDone
	})
	return b, "ws://" + ln.Addr().String() + mqttws.Path
}

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{mqttws.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, http.Header{})
	require.NoError(t, err)
	require.Equal(t, mqttws.Subprotocol, resp.Header.Get("Sec-WebSocket-Protocol"))
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func encode(t *testing.T, p packets.ControlPacket) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, p.Write(&buf))
	return buf.Bytes()
}

// TestPacketsAcrossFrames: MQTT packets may span WebSocket frames and one
// frame may carry several packets [MQTT-6.0.0-2]. A CONNECT split in two
// frames, the second also carrying a PINGREQ, gets CONNACK then PINGRESP.
func TestPacketsAcrossFrames(t *testing.T) {
	_, url := server(t)
	ws := dialWS(t, url)
	connect := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	connect.ProtocolName, connect.ProtocolVersion, connect.CleanSession = "MQTT", 4, true
	connect.ClientIdentifier, connect.Keepalive = "split", 30
	raw := encode(t, connect)
	ping := encode(t, packets.NewControlPacket(packets.Pingreq))
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, raw[:3]))
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, append(append([]byte{}, raw[3:]...), ping...)))

	// The client side reads the stream through a Conn too.
	c := mqttws.NewConn(ws, false)
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	p, err := packets.ReadPacket(c)
	require.NoError(t, err)
	ack, ok := p.(*packets.ConnackPacket)
	require.True(t, ok, "got %v", p)
	require.Equal(t, byte(packets.Accepted), ack.ReturnCode)
	p, err = packets.ReadPacket(c)
	require.NoError(t, err)
	require.IsType(t, &packets.PingrespPacket{}, p)
}

// TestTextFrameEndsClient: MQTT over WebSocket is binary [MQTT-6.0.0-1]; a
// text frame ends the connection.
func TestTextFrameEndsClient(t *testing.T) {
	_, url := server(t)
	ws := dialWS(t, url)
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("hello")))
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err := ws.ReadMessage()
	require.Error(t, err)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(t, ne.Timeout(), "the broker kept a client that sent a text frame")
	}
}

// TestSessionAcrossTransports: a persistent session made over TCP resumes
// over WebSocket, with the QoS 1 message queued while it was away.
func TestSessionAcrossTransports(t *testing.T) {
	b, url := server(t)
	opts := func(broker string) *paho.ClientOptions {
		return paho.NewClientOptions().AddBroker(broker).SetClientID("roamer").SetCleanSession(false).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4)
	}
	tcp := paho.NewClient(opts(b.URL()))
	require.True(t, tcp.Connect().WaitTimeout(5*time.Second))
	tok := tcp.Subscribe("plant/+/state", 1, nil)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	tcp.Disconnect(100)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("pub").SetProtocolVersion(4))
	require.True(t, pub.Connect().WaitTimeout(5*time.Second))
	require.True(t, pub.Publish("plant/p1/state", 1, false, "while away").WaitTimeout(5*time.Second))
	pub.Disconnect(100)

	got := make(chan string, 1)
	o := opts(url).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	ws := paho.NewClient(o)
	ct := ws.Connect()
	require.True(t, ct.WaitTimeout(5*time.Second))
	require.NoError(t, ct.Error())
	require.True(t, ct.(*paho.ConnectToken).SessionPresent(), "the TCP session was not resumed over WebSocket")
	defer ws.Disconnect(100)
	select {
	case m := <-got:
		require.Equal(t, "while away", m)
	case <-time.After(5 * time.Second):
		t.Fatal("the queued message never arrived over WebSocket")
	}
}
