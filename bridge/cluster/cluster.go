package cluster

import (
	"context"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
)

// Presence knows which sessions subscribe to which channel, cluster-wide.
type Presence interface {
	// Join records that session c subscribes to channel.
	Join(ctx context.Context, tenant, channel string, c wire.PresenceClient) error
	// Leave removes session from channel.
	Leave(ctx context.Context, tenant, channel, session string) error
	// List returns the sessions subscribed to channel on live nodes only:
	// the entries of a node that stopped heartbeating are never returned.
	List(ctx context.Context, tenant, channel string) ([]wire.PresenceClient, error)
}

// Dedup recognises a message seen before within a window.
type Dedup interface {
	// Claim records key for window and reports whether this call is the
	// first to claim it within the window (true: process the message).
	Claim(ctx context.Context, key string, window time.Duration) (bool, error)
}

// NodeInfo is a node as the registry knows it.
type NodeInfo struct {
	Node        string    `json:"node"`
	StartedAt   time.Time `json:"started_at"`
	Connections int       `json:"connections"`
	// HTTPAddr is the node's own listen address.
	HTTPAddr string `json:"http_addr,omitempty"`
	// LastSeen is when the node last heartbeated.
	LastSeen time.Time `json:"last_seen"`
}

// Nodes is the registry of live nodes.
type Nodes interface {
	// Heartbeat records that the node is alive (and its counters); a node
	// that misses two heartbeats counts as gone.
	Heartbeat(ctx context.Context, n NodeInfo) error
	// List returns the live nodes, sorted by name.
	List(ctx context.Context) ([]NodeInfo, error)
	// Leave removes the node at once (clean shutdown).
	Leave(ctx context.Context, node string) error
}

// Control kinds.
const (
	// ControlSignOut closes every session of (Tenant, User) with 4003 and,
	// when NotBefore is set, refuses the user's tokens issued before it
	// until Until (NotBefore plus the longest token lifetime).
	ControlSignOut = "signout"
	// ControlRevoke closes every session whose token has ID JTI and refuses
	// that token until Until.
	ControlRevoke = "revoke"
)

// ControlMessage is one cluster-wide instruction.
type ControlMessage struct {
	Kind   string    `json:"kind"`
	Tenant string    `json:"tenant,omitempty"`
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason,omitempty"`
	JTI    string    `json:"jti,omitempty"`
	Until  time.Time `json:"until,omitempty"`
	// NotBefore is a sign-out's time: tokens of (Tenant, User) issued
	// before it are refused until Until.
	NotBefore time.Time `json:"not_before,omitempty"`
	// From is the node that sent it.
	From string `json:"from,omitempty"`
}

// ControlHandler acts on a control message on this node. It must not block.
type ControlHandler func(ControlMessage)

// Control is the cluster's control channel and token revocation list.
type Control interface {
	// Send delivers m to every node, this one included. A revocation is
	// also recorded, so nodes that start later refuse the token too.
	Send(ctx context.Context, m ControlMessage) error
	// Revoked reports whether the token with this jti is revoked. It
	// answers from memory: no round trip per connect.
	Revoked(jti string) bool
	// NotBefore returns the time of the latest sign-out of user in tenant
	// still in force (zero when none): tokens issued before it are refused.
	// A sign-out (Kind ControlSignOut with NotBefore and Until) is recorded
	// by Send, so nodes that start later refuse them too. It answers from
	// memory.
	NotBefore(tenant, user string) time.Time
}

// SignOutKey names a (tenant, user) in the sign-out list; tenants never
// contain '/'.
func SignOutKey(tenant, user string) string { return tenant + "/" + user }

// Leases make a periodic job run on one node of the cluster at a time.
type Leases interface {
	// Acquire takes or renews the named lease for node for ttl and reports
	// whether node holds it.
	Acquire(ctx context.Context, name, node string, ttl time.Duration) (bool, error)
}

// ClaimState is what Recheck found for a message another node claimed.
type ClaimState int

// Claim states.
const (
	// ClaimDone: the owner processed the message; drop it.
	ClaimDone ClaimState = iota
	// ClaimFree: the claim is gone without a done mark: its owner's lease
	// ran out (it died), or the backplane lost the key. Take the message
	// over when its owner is no longer alive.
	ClaimFree
	// ClaimBusy: the owner still holds its lease; look again later.
	ClaimBusy
)

// Claims is the two-phase message claim of cluster ingest mode "lock",
// where every node receives every message: a node claims a message for a
// short lease, processes it, then marks it done for the dedup window. The
// nodes that lost the claim keep their copy until it is done, and take
// over when the claim is gone and its owner is dead, so a node that dies
// between claim and publication loses nothing, and a backplane that lost
// its keys causes no duplicates while the owners live.
type Claims interface {
	// Claim takes the message for node for lease. It reports whether node
	// got it, and else which node holds it ("" once it is done).
	Claim(ctx context.Context, key, node string, lease time.Duration) (owner string, mine bool, err error)
	// Done marks the message processed for window.
	Done(ctx context.Context, key string, window time.Duration) error
	// Recheck looks at messages another node claimed, one state per key.
	Recheck(ctx context.Context, keys []string) ([]ClaimState, error)
}
