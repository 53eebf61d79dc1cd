package clustertest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// TestCoordinatorOfflineAcrossNodes: in a cluster (Valkey store, external
// broker) Zigbee2MQTT's bridge/state offline holds the devices of the base
// stale for a dashboard on any node, and a later snapshot says so; online
// releases them. Payloads per
// https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html.
func TestCoordinatorOfflineAcrossNodes(t *testing.T) {
	c := startCluster(t, 2)
	mq := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "z2m-sim", true)
	publish := func(topic, payload string) {
		tok := mq.Publish(topic, 1, false, payload)
		require.True(t, tok.WaitTimeout(5*time.Second))
		require.NoError(t, tok.Error())
	}
	publish("zigbee2mqtt/lamp-1", `{"state":"OFF","brightness":10}`)

	dash := bridgetest.Dial(t, c.nodes[1].WSURL)
	dash.Connect(bridgetest.Token(t, "viewer", "default"))
	bridgetest.Eventually(t, wait, func() error {
		var res wire.SubscribeResult
		dash.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:lamp-1"}, &res)
		if len(res.Snapshot) != 1 {
			return fmt.Errorf("lamp-1 not known yet")
		}
		return nil
	})
	// waitStale reads lamp-1's Readings until one says stale is want (the
	// state published before may still be on its way).
	waitStale := func(want bool) {
		deadline := time.Now().Add(wait)
		for {
			p, ok := dash.NextMessage(time.Until(deadline))
			require.True(t, ok, "no Reading of lamp-1 with stale %v", want)
			var r devices.Reading
			require.NoError(t, json.Unmarshal(p.Data, &r))
			if r.Device == "lamp-1" && r.Stale == want {
				return
			}
		}
	}
	publish("zigbee2mqtt/bridge/state", `{"state":"offline"}`)
	waitStale(true)
	var res wire.SubscribeResult
	dash.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, &res)
	stale := map[string]bool{}
	for _, raw := range res.Snapshot {
		var r devices.Reading
		require.NoError(t, json.Unmarshal(raw, &r))
		stale[r.Device] = r.Stale
	}
	require.Equal(t, map[string]bool{"lamp-1": true, "bridge": false}, stale)

	publish("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	waitStale(false)
}
