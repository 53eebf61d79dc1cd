package clustertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	bp "github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/valkey"
)

// TestClaimTakenOverFromDeadNode: a node claims a message and dies before
// it publishes. With the default heartbeat a dead node stays listed for
// 8 s, far past the claim's 2 s lease; the other nodes must still take the
// message over once it is gone from the registry: delayed, never lost.
// The dying node is played by a claim and one heartbeat written straight
// into Valkey under the name "ghost".
func TestClaimTakenOverFromDeadNode(t *testing.T) {
	needTools(t, false)
	c := &cluster{t: t, bin: bridgetest.BuildBinary(t), valkey: []string{bridgetest.StartRedis(t).Addr}}
	c.broker = bridgetest.StartMosquitto(t)
	c.conf = filepath.Join(t.TempDir(), "mqlive.yaml")
	require.NoError(t, os.WriteFile(c.conf, []byte("cluster:\n  ingest: lock\n"), 0o600))
	for i := 0; i < 2; i++ {
		c.addNode(t, c.broker)
	}
	watcher := newStream(t, "watcher", c.nodes[0].WSURL, "devices")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vc, err := valkey.Dial(ctx, valkey.Config{Addrs: c.valkey})
	require.NoError(t, err)
	defer vc.Close()
	require.NoError(t, valkey.NewNodes(vc, "", 4*time.Second).Heartbeat(ctx, bp.NodeInfo{Node: "ghost", LastSeen: time.Now()}))

	topic, payload := "zigbee2mqtt/orphan", `{"temperature":21.5,"seq":1}`
	// The message's identity as the bridge computes it (pipeline.go
	// messageKey): tenant, topic and payload.
	h := sha256.New()
	h.Write([]byte("default\x00" + topic + "\x00" + payload))
	key := hex.EncodeToString(h.Sum(nil)[:16])
	_, mine, err := valkey.NewClaims(vc, "").Claim(ctx, key, "ghost", 2*time.Second)
	require.NoError(t, err)
	require.True(t, mine)

	start := time.Now()
	pub := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "pub-orphan", true)
	tok := pub.Publish(topic, 1, false, payload)
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())

	bridgetest.Eventually(t, 40*time.Second, func() error {
		watcher.drain()
		if watcher.seqs[1] == 0 {
			return errNotYet
		}
		return nil
	})
	took := time.Since(start)
	t.Logf("message claimed by a node that died: published by another node after %v", took.Round(100*time.Millisecond))
	require.Greater(t, took, 4*time.Second, "not before the dead node left the registry")
	time.Sleep(3 * time.Second) // a second taker would publish it again by now
	watcher.drain()
	require.Equal(t, 1, watcher.seqs[1], "taken over once")
}

type notYet struct{}

func (notYet) Error() string { return "not yet" }

var errNotYet error = notYet{}
