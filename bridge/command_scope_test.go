package bridge_test

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices/sparkplug"
)

// TestCommandScope drives commands through a real bridge and broker: a
// token whose cmd claim names one Sparkplug device cannot reach its edge
// node (rebirth, Node Control), only metrics the births declared are
// written, and Zigbee2MQTT set/get take allowlisted keys only. Refusals
// are -32602 (or -32403 for the claim) and counted as refused.
func TestCommandScope(t *testing.T) {
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.Sources = []bridge.SourceConfig{
			{Family: "sparkplug_b", Tenant: "acme"},
			{Family: "zigbee2mqtt", Tenant: "acme", Base: strp("acme/zigbee2mqtt")},
		}
	})
	got := make(chan paho.Message, 10)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(b.MQTTURL).SetClientID("observer"))
	tok := sub.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	defer sub.Disconnect(100)
	tok = sub.SubscribeMultiple(map[string]byte{"spBv1.0/+/NCMD/#": 1, "spBv1.0/+/DCMD/#": 1, "acme/zigbee2mqtt/+/set": 1, "acme/zigbee2mqtt/+/get": 1},
		func(_ paho.Client, m paho.Message) { got <- m })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	sp := sparkplug.New()
	for _, id := range []string{"plant/edge", "plant/edge/pump"} {
		birth, ok := sp.Availability("spBv1.0", id, true)
		require.True(t, ok)
		b.Publish(t, birth.Topic, birth.Payload)
	}
	b.Publish(t, "acme/zigbee2mqtt/lamp", []byte(`{"state":"OFF","brightness":10}`))

	device := bridgetest.Dial(t, b.WSURL)
	device.Connect(b.Token(t, "alice", "acme", func(c *auth.Claims) { c.Cmd = []string{"plant/edge/pump", "lamp"} }))
	node := bridgetest.Dial(t, b.WSURL)
	node.Connect(b.Token(t, "bob", "acme", func(c *auth.Claims) { c.Cmd = []string{"plant/edge"} }))
	bridgetest.Eventually(t, 5*time.Second, func() error {
		var res wire.SubscribeResult
		device.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &res)
		if len(res.Snapshot) != 3 {
			return errorf("devices known: %d", len(res.Snapshot))
		}
		return nil
	})

	for _, c := range []struct {
		p    wire.CommandParams
		code int
	}{
		// The edge node's commands from the device's id: refused by the family.
		{wire.CommandParams{Device: "plant/edge/pump", Name: "rebirth"}, wire.CodeInvalidParams},
		{wire.CommandParams{Device: "plant/edge/pump", Name: "Node Control/Rebirth"}, wire.CodeInvalidParams},
		// ... and from the node's id: the claim does not cover it.
		{wire.CommandParams{Device: "plant/edge", Name: "rebirth"}, wire.CodeForbidden},
		// Not declared by the DBIRTH.
		{wire.CommandParams{Device: "plant/edge/pump", Name: "Valve/Open", Args: []byte(`true`)}, wire.CodeInvalidParams},
		// Not in the Zigbee2MQTT allowlist.
		{wire.CommandParams{Device: "lamp", Name: "set", Args: []byte(`{"write":{"cluster":"genOnOff","payload":{"onOff":1}}}`)}, wire.CodeInvalidParams},
		{wire.CommandParams{Device: "lamp", Name: "get", Args: []byte(`{"read":{"cluster":"genBasic","attributes":["modelId"]}}`)}, wire.CodeInvalidParams},
	} {
		_, rerr := device.Call("command", c.p)
		require.NotNil(t, rerr, "%+v", c.p)
		require.Equal(t, c.code, rerr.Code, "%+v: %s", c.p, rerr.Message)
	}

	var res wire.CommandResult
	device.MustCall("command", wire.CommandParams{Device: "plant/edge/pump", Name: "Running", Args: []byte(`true`)}, &res)
	require.True(t, res.Accepted)
	m := <-got
	require.Equal(t, "spBv1.0/plant/DCMD/edge/pump", m.Topic())
	device.MustCall("command", wire.CommandParams{Device: "lamp", Name: "set", Args: []byte(`{"state":"ON","brightness":200}`)}, &res)
	m = <-got
	require.Equal(t, "acme/zigbee2mqtt/lamp/set", m.Topic())
	node.MustCall("command", wire.CommandParams{Device: "plant/edge", Name: "rebirth"}, &res)
	m = <-got
	require.Equal(t, "spBv1.0/plant/NCMD/edge", m.Topic())
	var p sparkplug.Payload
	require.NoError(t, proto.Unmarshal(m.Payload(), &p))
	require.Equal(t, "Node Control/Rebirth", p.GetMetrics()[0].GetName())
	select {
	case m := <-got:
		t.Fatalf("unexpected command on the broker: %s", m.Topic())
	case <-time.After(200 * time.Millisecond):
	}

	cmds := metricsOf(b).Commands
	require.Equal(t, 2.0, testutil.ToFloat64(cmds.WithLabelValues("sparkplug_b", "acme", "sent")))
	require.Equal(t, 3.0, testutil.ToFloat64(cmds.WithLabelValues("sparkplug_b", "acme", "refused")))
	require.Equal(t, 1.0, testutil.ToFloat64(cmds.WithLabelValues("zigbee2mqtt", "acme", "sent")))
	require.Equal(t, 2.0, testutil.ToFloat64(cmds.WithLabelValues("zigbee2mqtt", "acme", "refused")))
	require.Equal(t, 1.0, testutil.ToFloat64(cmds.WithLabelValues("none", "acme", "refused")), "the claim refusal")
}
