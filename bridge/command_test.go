package bridge_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestCommandsReachTheBroker checks that a dashboard command becomes the
// exact MQTT message the family documents, observed by a real subscriber.
func TestCommandsReachTheBroker(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	got := observeBroker(t, b.MQTTURL, "observer", map[string]byte{"acme/zigbee2mqtt/+/set": 1, "acme/cmnd/+/+": 1})

	b.Publish(t, "acme/zigbee2mqtt/lamp", []byte(`{"state":"OFF","brightness":10}`))
	b.Publish(t, "acme/tele/plug-1/STATE", []byte(`{"Time":"2026-11-23T17:00:00","POWER":"OFF"}`))
	admin := bridgetest.Dial(t, b.WSURL)
	admin.Connect(b.Token(t, "root", "acme", func(c *auth.Claims) { c.Admin = true }))
	admin.MustCall("subscribe", wire.SubscribeParams{Channel: "monitor"}, nil)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme", func(c *auth.Claims) { c.Cmd = []string{"lamp", "plug-*"} }))
	bridgetest.Eventually(t, 5*time.Second, func() error {
		var res wire.SubscribeResult
		c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &res)
		if len(res.Snapshot) != 2 {
			return errorf("devices known: %d", len(res.Snapshot))
		}
		return nil
	})

	var res wire.CommandResult
	c.MustCall("command", wire.CommandParams{Device: "lamp", Name: "set", Args: []byte(`{"state":"ON","brightness":200}`)}, &res)
	require.True(t, res.Accepted)
	m := <-got
	require.Equal(t, "acme/zigbee2mqtt/lamp/set", m.Topic())
	require.JSONEq(t, `{"state":"ON","brightness":200}`, string(m.Payload()))

	c.MustCall("command", wire.CommandParams{Device: "plug-1", Name: "on"}, &res)
	m = <-got
	require.Equal(t, "acme/cmnd/plug-1/Power", m.Topic())
	require.Equal(t, "ON", string(m.Payload()))

	_, rerr := c.Call("command", wire.CommandParams{Device: "plug-1", Name: "Backlog", Args: []byte(`"Power ON; Restart 1"`)})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
	_, rerr = c.Call("command", wire.CommandParams{Device: "nobody", Name: "on"})
	require.Equal(t, wire.CodeForbidden, rerr.Code, "cmd claim does not cover the device")
	_, rerr = c.Call("command", wire.CommandParams{Device: "plug-9", Name: "on"})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code, "unknown device")
	// Every command is counted and shown on the monitor channel.
	cmds := metricsOf(b).Commands
	require.Equal(t, 2.0, testutil.ToFloat64(cmds.WithLabelValues("zigbee2mqtt", "acme", "sent"))+testutil.ToFloat64(cmds.WithLabelValues("tasmota", "acme", "sent")))
	require.Equal(t, 1.0, testutil.ToFloat64(cmds.WithLabelValues("tasmota", "acme", "refused")))
	require.Equal(t, 2.0, testutil.ToFloat64(cmds.WithLabelValues("none", "acme", "refused")), "forbidden and unknown devices")
	var verdicts []string
	for {
		p, ok := admin.NextMessage(500 * time.Millisecond)
		if !ok {
			break
		}
		var ev struct{ Command, Verdict, Topic string }
		require.NoError(t, json.Unmarshal(p.Data, &ev))
		if ev.Command != "" {
			verdicts = append(verdicts, ev.Command+":"+ev.Verdict+":"+ev.Topic)
		}
	}
	require.Equal(t, []string{"set:sent:acme/zigbee2mqtt/lamp/set", "on:sent:acme/cmnd/plug-1/Power", "Backlog:refused:", "on:refused:", "on:refused:"}, verdicts)
	select {
	case m := <-got:
		t.Fatalf("unexpected command on the broker: %s %s", m.Topic(), m.Payload())
	case <-time.After(100 * time.Millisecond):
	}
}
