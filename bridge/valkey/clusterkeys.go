package valkey

import "strconv"

// clusterDefaultPrefix is the key prefix when none is configured; it is
// the same default as Config.KeyPrefix.
const clusterDefaultPrefix = "mqlive:"

// The keys of the cluster backplane (presence, node registry, dedup,
// control, leases); keyNames (keys.go) is the whole layout. Keys that a
// script or a pipeline touches together share a hash tag ({...}), so they
// live in one slot of a Valkey Cluster.

// presence is the hash of a channel's sessions: field session id, value
// JSON wire.PresenceClient.
func (k keyNames) presence(tenant, channel string) string { return k.topic(tenant, channel) + ":p" }

// nodePresence is the set of presence keys a node has written to.
func (k keyNames) nodePresence(node string) string { return k.p + "{node:" + node + "}:pk" }

// presenceNodes is the set of nodes that have a nodePresence set.
func (k keyNames) presenceNodes() string { return k.p + "{nodes}:pn" }

// nodesZ is the sorted set node → last heartbeat (server unix ms).
func (k keyNames) nodesZ() string { return k.p + "{nodes}:z" }

// nodesInfo is the hash node → JSON cluster.NodeInfo.
func (k keyNames) nodesInfo() string { return k.p + "{nodes}:i" }

// dedup is the key that marks a message key as seen.
func (k keyNames) dedup(key string) string { return k.p + "dd:" + key }

// controlTopic is the sharded pub/sub channel of control messages.
func (k keyNames) controlTopic() string { return k.p + "{control}" }

// revocations is the hash jti → revoked until (unix ms).
func (k keyNames) revocations() string { return k.p + "{control}:r" }

// lease is the key of the named lease; its value is the holder.
func (k keyNames) lease(name string) string { return k.p + "lease:" + name }

// clusterMillis formats d (or a unix time in ms) as a decimal string of
// milliseconds, at least 1 so that PX never gets 0.
func clusterMillis(ms int64) string {
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}
