package bridgetest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestProcesses runs the helpers a cluster test uses end to end: a built
// bridge binary on mosquitto, reached through nginx, and a mosquitto
// restart that keeps the node's QoS 1 session.
func TestProcesses(t *testing.T) {
	bridgetest.NeedBinary(t, bridgetest.MosquittoPath, "mosquitto")
	bridgetest.NeedBinary(t, bridgetest.NginxPath, "nginx")
	mq := bridgetest.StartMosquitto(t)
	node := bridgetest.StartNode(t, bridgetest.BuildBinary(t), "solo", map[string]string{"MQLIVE_MQTT_URL": bridgetest.MQTTURL(mq)})
	lb := bridgetest.StartNginx(t, []string{node.Addr})

	c := bridgetest.Dial(t, "ws://"+lb.Addr+"/ws")
	require.Equal(t, "solo", c.Connect(bridgetest.Token(t, "u", "default")).Node)
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, nil)
	pub := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(mq), "pub", true)
	tok := pub.Publish("zigbee2mqtt/th-1", 1, false, `{"temperature":21.5}`)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	p, ok := c.NextMessage(10 * time.Second)
	require.True(t, ok)
	require.Contains(t, string(p.Data), `"th-1"`)

	mq.Stop()
	node.WaitNotReady(t, 10*time.Second)
	mq.Start(t)
	node.WaitReady(t, 20*time.Second)
	code, body, err := node.Readyz()
	require.NoError(t, err)
	require.Equal(t, 200, code, body)
}
