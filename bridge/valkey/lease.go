package valkey

import (
	"context"
	"fmt"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
)

// acquireScript renews the lease KEYS[1] if ARGV[1] holds it, else takes
// it if free; for ARGV[2] ms. Returns 1 when ARGV[1] holds it.
var acquireScript = valkey.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
`)

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
var releaseScript = valkey.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Leases are named leases in Valkey (key lease:<name>, value the holder)
// that make a periodic job run on one node at a time. Acquire is atomic
// (one script). A holder that stops renewing loses the lease when its ttl
// runs out; use a ttl of a few renewal periods.
//
// Leases is safe for concurrent use; it keeps no state.
type Leases struct {
	c valkey.Client
	k keyNames
}

var _ cluster.Leases = (*Leases)(nil)

// NewLeases returns leases under prefix ("" means "mqlive:").
func NewLeases(c valkey.Client, prefix string) *Leases {
	return &Leases{c: c, k: newKeyNames(prefix)}
}

// Acquire takes the named lease for node for ttl (at least 1 ms) if it is
// free, renews it if node holds it, and reports whether node holds it.
func (l *Leases) Acquire(ctx context.Context, name, node string, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Exec(ctx, l.c, []string{l.k.lease(name)},
		[]string{node, clusterMillis(ttl.Milliseconds())}).AsInt64()
	if err != nil {
		return false, fmt.Errorf("valkey lease acquire %s: %w", name, err)
	}
	return n == 1, nil
}

// Release gives the named lease up if node holds it (clean shutdown), so
// another node can take it at once.
func (l *Leases) Release(ctx context.Context, name, node string) error {
	if err := releaseScript.Exec(ctx, l.c, []string{l.k.lease(name)}, []string{node}).Error(); err != nil {
		return fmt.Errorf("valkey lease release %s: %w", name, err)
	}
	return nil
}
