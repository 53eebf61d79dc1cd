package valkey

import (
	"log/slog"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
)

// BackplaneConfig configures the cluster parts of a Backplane.
type BackplaneConfig struct {
	// KeyPrefix starts every key and topic; "" means "mqlive:". Use the
	// same value as Config.KeyPrefix.
	KeyPrefix string
	// Heartbeat is how often a node heartbeats; 0 means DefaultHeartbeat
	// (4 s). A node counts as gone two heartbeats after its last one.
	// Every node of a cluster must use the same value.
	Heartbeat time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Backplane holds the Valkey implementations of the cluster interfaces,
// sharing one client. The bridge runs Control.Run, calls Nodes.Heartbeat
// every Nodes.Interval(), and, on the node that holds a lease (Leases),
// Presence.SweepPresence every few heartbeats. Every part is safe for
// concurrent use; see each type for its contract.
type Backplane struct {
	Presence *Presence
	Nodes    *Nodes
	Dedup    *Dedup
	Control  *Control
	Leases   *Leases
}

// NewBackplane builds every part on client c; h receives control messages
// once Control.Run runs and must not block. It does no I/O.
func NewBackplane(c valkey.Client, cfg BackplaneConfig, h cluster.ControlHandler) *Backplane {
	nodes := NewNodes(c, cfg.KeyPrefix, cfg.Heartbeat)
	return &Backplane{
		Presence: NewPresence(c, cfg.KeyPrefix, nodes),
		Nodes:    nodes,
		Dedup:    NewDedup(c, cfg.KeyPrefix),
		Control:  NewControl(c, cfg.KeyPrefix, h, cfg.Logger),
		Leases:   NewLeases(c, cfg.KeyPrefix),
	}
}
