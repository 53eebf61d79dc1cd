package valkey

import (
	"context"
	"fmt"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/cluster"
)

// Dedup recognises a message seen before by any node within a window:
// Claim is SET dd:<key> 1 NX PX <window>, one round trip.
//
// Dedup is safe for concurrent use; it keeps no state.
type Dedup struct {
	c valkey.Client
	k keyNames
}

var _ cluster.Dedup = (*Dedup)(nil)

// NewDedup returns dedup under prefix ("" means "mqlive:").
func NewDedup(c valkey.Client, prefix string) *Dedup {
	return &Dedup{c: c, k: newKeyNames(prefix)}
}

// Claim records key for window (at least 1 ms) and reports whether this
// call is the first to claim it within the window, cluster-wide.
func (d *Dedup) Claim(ctx context.Context, key string, window time.Duration) (bool, error) {
	err := d.c.Do(ctx, d.c.B().Set().Key(d.k.dedup(key)).Value("1").Nx().
		PxMilliseconds(max(window.Milliseconds(), 1)).Build()).Error()
	if valkey.IsValkeyNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("valkey dedup claim: %w", err)
	}
	return true, nil
}
