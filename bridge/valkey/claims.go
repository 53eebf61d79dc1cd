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

// claimScript takes KEYS[1] for ARGV[1] for ARGV[2] ms when it is free;
// it returns {1, owner} when taken, else {0, the current value}.
var claimScript = valkey.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v then return {0, v} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, ARGV[1]}
`)

// Claims is the two-phase message claim of ingest mode "lock" (see
// cluster.Claims) on keys dd:<key>: Claim is a script that sets the node's
// name with a lease when the key is free and else returns its value, Done
// overwrites it with a done marker for the dedup window, Recheck is one
// GET per key, pipelined.
//
// Claims is safe for concurrent use; it keeps no state.
type Claims struct {
	c valkey.Client
	k keyNames
}

var _ cluster.Claims = (*Claims)(nil)

// NewClaims returns claims under prefix ("" means "mqlive:").
func NewClaims(c valkey.Client, prefix string) *Claims {
	return &Claims{c: c, k: newKeyNames(prefix)}
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Claim implements cluster.Claims: one script, one round trip.
func (cl *Claims) Claim(ctx context.Context, key, node string, lease time.Duration) (string, bool, error) {
	res, err := claimScript.Exec(ctx, cl.c, []string{cl.k.dedup(key)}, []string{node, strconv.FormatInt(millis(lease), 10)}).ToArray()
	if err != nil || len(res) != 2 {
		return "", false, fmt.Errorf("valkey claim: %w", err)
	}
	won, err := res[0].AsInt64()
	if err != nil {
		return "", false, fmt.Errorf("valkey claim: %w", err)
	}
	owner, err := res[1].ToString()
	if err != nil {
		return "", false, fmt.Errorf("valkey claim: %w", err)
	}
	if owner == claimDone {
		owner = ""
	}
	return owner, won == 1, nil
}

// Done implements cluster.Claims.
func (cl *Claims) Done(ctx context.Context, key string, window time.Duration) error {
	if err := cl.c.Do(ctx, cl.c.B().Set().Key(cl.k.dedup(key)).Value(claimDone).PxMilliseconds(millis(window)).Build()).Error(); err != nil {
		return fmt.Errorf("valkey claim done: %w", err)
	}
	return nil
}

// Recheck implements cluster.Claims: one GET per key, pipelined.
func (cl *Claims) Recheck(ctx context.Context, keys []string) ([]cluster.ClaimState, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make(valkey.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = cl.c.B().Get().Key(cl.k.dedup(k)).Build()
	}
	out := make([]cluster.ClaimState, len(keys))
	for i, r := range cl.c.DoMulti(ctx, cmds...) {
		v, err := r.ToString()
		switch {
		case valkey.IsValkeyNil(err):
			out[i] = cluster.ClaimFree
		case err != nil:
			return nil, fmt.Errorf("valkey claim recheck: %w", err)
		case v == claimDone:
			out[i] = cluster.ClaimDone
		default:
			out[i] = cluster.ClaimBusy
		}
	}
	return out, nil
}
