package valkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
)

// DefaultHeartbeat is the node heartbeat interval when none is configured.
// A node counts as gone two intervals after its last heartbeat.
const DefaultHeartbeat = 4 * time.Second

// luaServerNow sets now to the server's clock in unix milliseconds. All
// liveness arithmetic uses the server's clock, so nodes whose clocks
// disagree still agree on who is alive.
const luaServerNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// heartbeatScript records ARGV[1] as alive now with info ARGV[2], and
// forgets nodes whose last heartbeat is older than ARGV[3] ms, so the
// registry stays bounded. KEYS: nodesZ, nodesInfo. Returns now.
var heartbeatScript = valkey.NewLuaScript(luaServerNow + `
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local cutoff = '(' .. string.format('%.0f', now - tonumber(ARGV[3]))
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
for _, d in ipairs(dead) do
  redis.call('ZREM', KEYS[1], d)
  redis.call('HDEL', KEYS[2], d)
end
return now
`)

// aliveScript returns the nodes that heartbeated within ARGV[1] ms.
// KEYS: nodesZ.
var aliveScript = valkey.NewLuaScriptReadOnly(luaServerNow + `
return redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%.0f', now - tonumber(ARGV[1])), '+inf')
`)

// listNodesScript returns node, last heartbeat ms, info JSON (or false)
// for every node that heartbeated within ARGV[1] ms. KEYS: nodesZ,
// nodesInfo.
var listNodesScript = valkey.NewLuaScriptReadOnly(luaServerNow + `
local z = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%.0f', now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #z, 2 do
  out[#out + 1] = z[i]
  out[#out + 1] = z[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], z[i])
end
return out
`)

// Nodes is the node registry in Valkey: a sorted set {nodes}:z of node →
// last heartbeat (server clock, unix ms) and a hash {nodes}:i of node →
// JSON cluster.NodeInfo. A node is alive while its last heartbeat is
// within two heartbeat intervals. Every node of a cluster must use the
// same interval.
//
// Nodes is safe for concurrent use; it keeps no state besides its
// configuration.
type Nodes struct {
	c         valkey.Client
	k         keyNames
	heartbeat time.Duration
}

var _ cluster.Nodes = (*Nodes)(nil)

// NewNodes returns the registry under prefix ("" means "mqlive:") for
// nodes that heartbeat every heartbeat (0 means DefaultHeartbeat).
func NewNodes(c valkey.Client, prefix string, heartbeat time.Duration) *Nodes {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	return &Nodes{c: c, k: newKeyNames(prefix), heartbeat: heartbeat}
}

// Interval is how often a node should call Heartbeat.
func (r *Nodes) Interval() time.Duration { return r.heartbeat }

// window is how long a heartbeat keeps a node alive: two intervals.
func (r *Nodes) window() string { return clusterMillis(2 * r.heartbeat.Milliseconds()) }

// Heartbeat records that n.Node is alive now (by the server's clock) with
// n's counters. n.LastSeen is ignored: List reports the server's time of
// the last heartbeat. Call it every Interval.
func (r *Nodes) Heartbeat(ctx context.Context, n cluster.NodeInfo) error {
	if n.Node == "" {
		return errors.New("valkey nodes heartbeat: empty node id")
	}
	n.LastSeen = time.Time{}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("valkey nodes heartbeat %s: %w", n.Node, err)
	}
	err = heartbeatScript.Exec(ctx, r.c, []string{r.k.nodesZ(), r.k.nodesInfo()}, []string{n.Node, string(b), r.window()}).Error()
	if err != nil {
		return fmt.Errorf("valkey nodes heartbeat %s: %w", n.Node, err)
	}
	return nil
}

// List returns the live nodes sorted by name, LastSeen set to their last
// heartbeat.
func (r *Nodes) List(ctx context.Context) ([]cluster.NodeInfo, error) {
	vs, err := listNodesScript.Exec(ctx, r.c, []string{r.k.nodesZ(), r.k.nodesInfo()}, []string{r.window()}).ToArray()
	if err != nil {
		return nil, fmt.Errorf("valkey nodes list: %w", err)
	}
	out := make([]cluster.NodeInfo, 0, len(vs)/3)
	for i := 0; i+2 < len(vs); i += 3 {
		name, err := vs[i].ToString()
		if err != nil {
			return nil, fmt.Errorf("valkey nodes list: %w", err)
		}
		ms, err := clusterScoreMillis(vs[i+1])
		if err != nil {
			return nil, fmt.Errorf("valkey nodes list %s: %w", name, err)
		}
		n := cluster.NodeInfo{Node: name}
		if js, err := vs[i+2].ToString(); err == nil {
			// A malformed entry still names a live node: keep the name.
			_ = json.Unmarshal([]byte(js), &n)
			n.Node = name
		}
		n.LastSeen = time.UnixMilli(ms).UTC()
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// Alive returns the set of live nodes.
func (r *Nodes) Alive(ctx context.Context) (map[string]bool, error) {
	names, err := aliveScript.Exec(ctx, r.c, []string{r.k.nodesZ()}, []string{r.window()}).AsStrSlice()
	if err != nil {
		return nil, fmt.Errorf("valkey nodes alive: %w", err)
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

// Leave removes node from the registry at once.
func (r *Nodes) Leave(ctx context.Context, node string) error {
	for _, res := range r.c.DoMulti(ctx,
		r.c.B().Zrem().Key(r.k.nodesZ()).Member(node).Build(),
		r.c.B().Hdel().Key(r.k.nodesInfo()).Field(node).Build(),
	) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("valkey nodes leave %s: %w", node, err)
		}
	}
	return nil
}

// clusterScoreMillis reads a sorted-set score (a string in RESP2 scripts,
// possibly a float) as integer milliseconds.
func clusterScoreMillis(m valkey.ValkeyMessage) (int64, error) {
	if v, err := m.AsInt64(); err == nil {
		return v, nil
	}
	s, err := m.ToString()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("score %q: %w", s, err)
	}
	return int64(f), nil
}
