package valkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/wire"
)

// sweepNodeScript removes from the presence hash KEYS[1] every entry whose
// node is ARGV[1] and returns how many it removed.
var sweepNodeScript = valkey.NewLuaScript(`
local h = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #h, 2 do
  local ok, c = pcall(cjson.decode, h[i + 1])
  if ok and type(c) == 'table' and c.node == ARGV[1] then
    redis.call('HDEL', KEYS[1], h[i])
    n = n + 1
  end
end
return n
`)

// Presence is cluster-wide presence in Valkey. Each channel is a hash
// {<tenant>:<channel>}:p of session id → JSON wire.PresenceClient; each
// node also records the hashes it wrote to in a set {node:<node>}:pk, and
// its name in {nodes}:pn, so SweepPresence can clean up after a node that
// died.
//
// List returns only entries of nodes alive in the registry, so a dead
// node's sessions vanish from presence as soon as its heartbeat lapses
// (two heartbeat intervals), before any sweep. A node whose heartbeat
// lapsed while it kept running (it lost Valkey for that long) may have had
// its entries swept: it should Join its sessions again once it heartbeats
// again.
//
// Presence is safe for concurrent use; it keeps no state.
type Presence struct {
	c     valkey.Client
	k     keyNames
	nodes *Nodes
}

var _ cluster.Presence = (*Presence)(nil)

// NewPresence returns presence under prefix ("" means "mqlive:") whose
// liveness comes from nodes, which must use the same client and prefix.
func NewPresence(c valkey.Client, prefix string, nodes *Nodes) *Presence {
	return &Presence{c: c, k: newKeyNames(prefix), nodes: nodes}
}

// Join records that session pc.Session of node pc.Node subscribes to
// channel; both must be set.
func (p *Presence) Join(ctx context.Context, tenant, channel string, pc wire.PresenceClient) error {
	if pc.Session == "" || pc.Node == "" {
		return fmt.Errorf("valkey presence join %s/%s: session and node are required", tenant, channel)
	}
	b, err := json.Marshal(pc)
	if err != nil {
		return fmt.Errorf("valkey presence join %s/%s: %w", tenant, channel, err)
	}
	key := p.k.presence(tenant, channel)
	// Three slots in a Cluster: valkey-go sends each command to its own
	// shard. Order does not matter: a sweep reads the sets only for dead
	// nodes.
	for _, res := range p.c.DoMulti(ctx,
		p.c.B().Hset().Key(key).FieldValue().FieldValue(pc.Session, string(b)).Build(),
		p.c.B().Sadd().Key(p.k.nodePresence(pc.Node)).Member(key).Build(),
		p.c.B().Sadd().Key(p.k.presenceNodes()).Member(pc.Node).Build(),
	) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("valkey presence join %s/%s: %w", tenant, channel, err)
		}
	}
	return nil
}

// Leave removes session from channel.
func (p *Presence) Leave(ctx context.Context, tenant, channel, session string) error {
	err := p.c.Do(ctx, p.c.B().Hdel().Key(p.k.presence(tenant, channel)).Field(session).Build()).Error()
	if err != nil {
		return fmt.Errorf("valkey presence leave %s/%s: %w", tenant, channel, err)
	}
	return nil
}

// List returns channel's sessions on live nodes, ordered by
// cluster.SortPresence. Entries that do not decode are skipped.
func (p *Presence) List(ctx context.Context, tenant, channel string) ([]wire.PresenceClient, error) {
	m, err := p.c.Do(ctx, p.c.B().Hgetall().Key(p.k.presence(tenant, channel)).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("valkey presence list %s/%s: %w", tenant, channel, err)
	}
	out := make([]wire.PresenceClient, 0, len(m))
	if len(m) == 0 {
		return out, nil
	}
	alive, err := p.nodes.Alive(ctx)
	if err != nil {
		return nil, fmt.Errorf("valkey presence list %s/%s: %w", tenant, channel, err)
	}
	for _, v := range m {
		var pc wire.PresenceClient
		if json.Unmarshal([]byte(v), &pc) != nil || !alive[pc.Node] {
			continue
		}
		out = append(out, pc)
	}
	cluster.SortPresence(out)
	return out, nil
}

// SweepPresence removes the presence entries of every node that wrote
// presence and is no longer alive, and forgets those nodes; it returns how
// many entries it removed. Run it on one node of the cluster at a time
// (under a lease), every few heartbeats; it is safe, only wasteful, to run
// it on several.
func (p *Presence) SweepPresence(ctx context.Context) (int, error) {
	writers, err := p.c.Do(ctx, p.c.B().Smembers().Key(p.k.presenceNodes()).Build()).AsStrSlice()
	if err != nil {
		return 0, fmt.Errorf("valkey presence sweep: %w", err)
	}
	if len(writers) == 0 {
		return 0, nil
	}
	alive, err := p.nodes.Alive(ctx)
	if err != nil {
		return 0, fmt.Errorf("valkey presence sweep: %w", err)
	}
	removed := 0
	var errs []error
	for _, node := range writers {
		if alive[node] {
			continue
		}
		n, err := p.sweepNode(ctx, node)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("valkey presence sweep: %w", err)
	}
	return removed, nil
}

// sweepNode removes node's entries from every hash it wrote to, then its
// key set and its name.
func (p *Presence) sweepNode(ctx context.Context, node string) (int, error) {
	set := p.k.nodePresence(node)
	keys, err := p.c.Do(ctx, p.c.B().Smembers().Key(set).Build()).AsStrSlice()
	if err != nil {
		return 0, fmt.Errorf("node %s: %w", node, err)
	}
	removed := 0
	if len(keys) > 0 {
		execs := make([]valkey.LuaExec, len(keys))
		for i, k := range keys {
			execs[i] = valkey.LuaExec{Keys: []string{k}, Args: []string{node}}
		}
		for _, res := range sweepNodeScript.ExecMulti(ctx, p.c, execs...) {
			n, err := res.AsInt64()
			if err != nil {
				return removed, fmt.Errorf("node %s: %w", node, err)
			}
			removed += int(n)
		}
	}
	for _, res := range p.c.DoMulti(ctx,
		p.c.B().Del().Key(set).Build(),
		p.c.B().Srem().Key(p.k.presenceNodes()).Member(node).Build(),
	) {
		if err := res.Error(); err != nil {
			return removed, fmt.Errorf("node %s: %w", node, err)
		}
	}
	return removed, nil
}
