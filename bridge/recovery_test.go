package bridge_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func TestRecoveryExactlyTheMissedPublicationsInOrder(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	tok := b.Token(t, "alice", "acme")
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(tok)
	var sub wire.SubscribeResult
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &sub)
	b.Publish(t, "acme/zigbee2mqtt/th-1", []byte(`{"temperature":20}`))
	last, _ := nextReading(t, c, "devices")
	c.Close()

	for i := 1; i <= 5; i++ {
		b.Publish(t, "acme/zigbee2mqtt/th-1", []byte(fmt.Sprintf(`{"temperature":%d}`, 20+i)))
	}
	// The bridge has them once the device state shows the last one.
	probe := bridgetest.Dial(t, b.WSURL)
	probe.Connect(tok)
	bridgetest.Eventually(t, 5*time.Second, func() error {
		var s wire.SubscribeResult
		probe.MustCall("subscribe", wire.SubscribeParams{Channel: "device:th-1"}, &s)
		var r devices.Reading
		require.Len(t, s.Snapshot, 1)
		require.NoError(t, json.Unmarshal(s.Snapshot[0], &r))
		if r.Metrics["temperature"] != 25.0 {
			return fmt.Errorf("temperature %v", r.Metrics["temperature"])
		}
		return nil
	})

	c2 := bridgetest.Dial(t, b.WSURL)
	c2.Connect(tok)
	id := c2.Request("subscribe", wire.SubscribeParams{Channel: "devices", Since: &wire.StreamPosition{Epoch: last.Epoch, Offset: last.Offset}})
	// Exactly the 5 missed publications, in order, before the result.
	for i := 1; i <= 5; i++ {
		f, ok := c2.Next(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "message", f.Method, "frame %d: %s", i, f.Raw)
		var p wire.Publication
		require.NoError(t, json.Unmarshal(f.Params, &p))
		require.Equal(t, last.Offset+uint64(i), p.Offset)
		require.Equal(t, float64(20+i), reading(t, p).Metrics["temperature"])
	}
	f, ok := c2.Next(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, id, string(f.ID), "the subscribe result follows the recovered publications: %s", f.Raw)
	var res wire.SubscribeResult
	require.NoError(t, json.Unmarshal(f.Result, &res))
	require.True(t, res.Recovered)
	require.Empty(t, res.Snapshot)
	require.Equal(t, last.Offset+5, res.Offset)

	// Live publications continue after the result, with no duplicate.
	b.Publish(t, "acme/zigbee2mqtt/th-1", []byte(`{"temperature":30}`))
	p, r := nextReading(t, c2, "devices")
	require.Equal(t, last.Offset+6, p.Offset)
	require.Equal(t, 30.0, r.Metrics["temperature"])

	// An unknown epoch cannot be recovered: snapshot instead.
	c3 := bridgetest.Dial(t, b.WSURL)
	c3.Connect(tok)
	var res3 wire.SubscribeResult
	c3.MustCall("subscribe", wire.SubscribeParams{Channel: "devices", Since: &wire.StreamPosition{Epoch: "no-such-epoch", Offset: 3}}, &res3)
	require.False(t, res3.Recovered)
	require.Len(t, res3.Snapshot, 1)
	var snap devices.Reading
	require.NoError(t, json.Unmarshal(res3.Snapshot[0], &snap))
	require.Equal(t, "th-1", snap.Device)
	require.Equal(t, 30.0, snap.Metrics["temperature"])
	_, ok = c3.NextMessage(100 * time.Millisecond)
	require.False(t, ok, "a snapshot subscribe replays nothing")
}

func TestRecoveryAfterRestartGivesSnapshot(t *testing.T) {
	b := bridgetest.Start(t)
	tok := b.Token(t, "alice", "default")
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(tok)
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	b.Publish(t, "zigbee2mqtt/th-1", []byte(`{"temperature":20}`))
	last, _ := nextReading(t, c, "devices")
	b.Restart(t)
	code, ok := c.WaitClosed(10 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseGoingAway, code, "a draining node says 1001")

	c2 := bridgetest.Dial(t, b.WSURL)
	c2.Connect(tok)
	var res wire.SubscribeResult
	c2.MustCall("subscribe", wire.SubscribeParams{Channel: "devices", Since: &wire.StreamPosition{Epoch: last.Epoch, Offset: last.Offset}}, &res)
	require.False(t, res.Recovered, "memory history is gone after a restart")
	require.NotEqual(t, last.Epoch, res.Epoch)
}

func TestHistory(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	for i := 0; i < 3; i++ {
		b.Publish(t, "zigbee2mqtt/h", []byte(fmt.Sprintf(`{"temperature":%d}`, i)))
		nextReading(t, c, "devices")
	}
	var h wire.HistoryResult
	c.MustCall("history", wire.HistoryParams{Channel: "devices", Limit: 2}, &h)
	require.Len(t, h.Publications, 2)
	require.False(t, h.Complete, "limit cut the result")
	require.Equal(t, uint64(1), h.Publications[0].Offset)
	c.MustCall("history", wire.HistoryParams{Channel: "devices", Since: &wire.StreamPosition{Epoch: h.Epoch, Offset: 1}}, &h)
	require.Len(t, h.Publications, 2)
	require.True(t, h.Complete)
	require.Equal(t, uint64(2), h.Publications[0].Offset)
	_, rerr := c.Call("history", wire.HistoryParams{Channel: "devices", Limit: 5000})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
}

// TestFleetSurvivesRestart: a node with state.path shows its whole fleet
// right after a restart, before any device reports again, and its embedded
// broker (mqtt.data_dir) keeps retained messages.
func TestFleetSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := bridgetest.Start(t, func(c *bridge.Config) {
		c.State.Path = filepath.Join(dir, "state.json")
		c.MQTT.DataDir = filepath.Join(dir, "broker")
	})
	tok := b.Token(t, "alice", "default")
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(tok)
	c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
	b.Publish(t, "zigbee2mqtt/th-1", []byte(`{"temperature":20.5,"humidity":40}`))
	b.Publish(t, "zigbee2mqtt/th-2", []byte(`{"temperature":18}`))
	nextReading(t, c, "devices")
	nextReading(t, c, "devices")
	b.Restart(t)

	c2 := bridgetest.Dial(t, b.WSURL)
	c2.Connect(tok)
	var res wire.SubscribeResult
	c2.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &res)
	require.False(t, res.Recovered)
	require.Len(t, res.Snapshot, 2, "the fleet is back before any device reports")
	var th1 devices.Reading
	for _, raw := range res.Snapshot {
		var r devices.Reading
		require.NoError(t, json.Unmarshal(raw, &r))
		if r.Device == "th-1" {
			th1 = r
		}
	}
	require.Equal(t, map[string]any{"temperature": 20.5, "humidity": 40.0}, th1.Metrics)
}
