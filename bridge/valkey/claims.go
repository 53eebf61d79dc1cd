package valkey

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
)

// claimDone is the value of a processed message's claim key.
const claimDone = "\x00done"

// recheckScript answers Recheck for one key: 0 done, 1 taken (the key was
// free and is now ARGV[1]'s for ARGV[2] ms), 2 busy.
var recheckScript = valkey.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[3] then return 0 end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 2
`)

// Claims is the two-phase message claim of ingest mode "lock" (see
// cluster.Claims) on keys dd:<key>: Claim is SET NX PX with the node's
// name, Done overwrites it with a done marker for the dedup window,
// Recheck is one script per key, pipelined.
//
// Claims is safe for concurrent use; it keeps no state.
type Claims struct {
	c valkey.Client
	k clusterKeys
}

var _ cluster.Claims = (*Claims)(nil)

// NewClaims returns claims under prefix ("" means "mqlive:").
func NewClaims(c valkey.Client, prefix string) *Claims {
	return &Claims{c: c, k: newClusterKeys(prefix)}
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Claim implements cluster.Claims.
func (cl *Claims) Claim(ctx context.Context, key, node string, lease time.Duration) (bool, error) {
	err := cl.c.Do(ctx, cl.c.B().Set().Key(cl.k.dedup(key)).Value(node).Nx().PxMilliseconds(millis(lease)).Build()).Error()
	if valkey.IsValkeyNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("valkey claim: %w", err)
	}
	return true, nil
}

// Done implements cluster.Claims.
func (cl *Claims) Done(ctx context.Context, key string, window time.Duration) error {
	if err := cl.c.Do(ctx, cl.c.B().Set().Key(cl.k.dedup(key)).Value(claimDone).PxMilliseconds(millis(window)).Build()).Error(); err != nil {
		return fmt.Errorf("valkey claim done: %w", err)
	}
	return nil
}

// Recheck implements cluster.Claims.
func (cl *Claims) Recheck(ctx context.Context, keys []string, node string, lease time.Duration) ([]cluster.ClaimState, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	execs := make([]valkey.LuaExec, len(keys))
	ms := strconv.FormatInt(millis(lease), 10)
	for i, k := range keys {
		execs[i] = valkey.LuaExec{Keys: []string{cl.k.dedup(k)}, Args: []string{node, ms, claimDone}}
	}
	out := make([]cluster.ClaimState, len(keys))
	for i, r := range recheckScript.ExecMulti(ctx, cl.c, execs...) {
		n, err := r.AsInt64()
		if err != nil {
			return nil, fmt.Errorf("valkey claim recheck: %w", err)
		}
		out[i] = cluster.ClaimState(n)
	}
	return out, nil
}
