package valkey_test

import (
	"testing"

	"github.com/mqlive/mqlive/bridge/bridgetest"
)

// TestRedisCluster runs the presence and control tests on a Redis Cluster
// of three masters: keys and the sharded control topic spread over the
// shards, and valkey-go finds the cluster from the seed addresses.
func TestRedisCluster(t *testing.T) {
	bpNoLeaks(t)
	addrs := bpAddrs(bridgetest.StartRedisCluster(t, 3))
	t.Run("presence", func(t *testing.T) { bpTestPresence(t, addrs) })
	t.Run("presence_dead_node", func(t *testing.T) { bpTestPresenceDeadNode(t, addrs) })
	t.Run("control", func(t *testing.T) { bpTestControl(t, addrs) })
}
