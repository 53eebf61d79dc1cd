package state

import (
	"context"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// Store is where a node keeps what must outlive one message: every
// channel's history with its epoch and offset, and the latest merged state
// of every device. Memory is the single-node store; package valkey has the
// one a cluster shares.
//
// Offsets are assigned by the store, atomically: every node that appends to
// a channel gets the next offset and all nodes agree on the order.
type Store interface {
	// Append records data as the next publication of ch in tenant and
	// returns it with its epoch and offset. r is the Reading data encodes,
	// or nil.
	Append(ctx context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*Publication, error)
	// Position is the channel's current epoch and offset. A channel never
	// published to (or expired) has the empty epoch and offset 0. No read
	// (Position, Since, History, Device, Snapshot) creates state.
	Position(ctx context.Context, tenant string, ch wire.Channel) (wire.StreamPosition, error)
	// Since returns every publication after pos, oldest first, the
	// channel's position when they were read, and whether the history still
	// held all of them (same epoch, nothing expired or trimmed).
	Since(ctx context.Context, tenant string, ch wire.Channel, pos wire.StreamPosition) ([]*Publication, wire.StreamPosition, bool, error)
	// History answers a history query.
	History(ctx context.Context, tenant string, ch wire.Channel, q HistoryQuery) (HistoryPage, error)

	// Apply merges r into its device's latest state. Per READINGS.md the
	// latest value never goes back in device time: a Reading older than the
	// merged state changes neither metrics nor attrs. It returns
	// ErrTooManyDevices when r names a new device past the tenant's limit,
	// ErrIdentityConflict when r's device id belongs to another source;
	// and, having merged the rest of r, ErrFieldLimit and ErrTagLimit when
	// it removed from r fields or tags past their limits (see
	// LimitReasons). Every such error matches ErrLimit.
	Apply(ctx context.Context, tenant string, r *devices.Reading, meta Meta) error
	// Device returns a device's merged state.
	Device(ctx context.Context, tenant, id string) (DeviceInfo, bool, error)
	// Snapshot returns the merged Readings of every device ch covers, with
	// Stale evaluated now; channels without device state have none. The
	// Readings may share their maps with the store: read them, never write.
	Snapshot(ctx context.Context, tenant string, ch wire.Channel) ([]devices.Reading, error)
	// SweepStale marks devices silent for longer than their stale interval
	// and returns one Reading per device that just became stale.
	SweepStale(ctx context.Context) ([]TenantReading, error)
	// DeviceCounts returns the number of devices per tenant.
	DeviceCounts(ctx context.Context) (map[string]int, error)
}

// TenantReading is a Reading with its tenant.
type TenantReading struct {
	Tenant  string
	Reading devices.Reading
}

// DeviceInfo is what a command needs to know about a device.
type DeviceInfo struct {
	// Reading is the merged state.
	Reading devices.Reading
	// Source is the index of the configured source the device came through.
	Source int
	// SourceKey is the stable key of the source that owns the device id
	// (SourceKey); a command route must check that the source at index
	// Source still has it, since indexes shift when the configuration does.
	SourceKey string
	// Topics are the distinct topics the device was last heard on, newest
	// first.
	Topics []string
}

// HistoryQuery selects publications of one channel. Every bound is
// optional; pages go forward (oldest first) or, with Reverse, backward
// (newest first).
type HistoryQuery struct {
	// Since: only publications after this position (its epoch must be the
	// channel's, else the result is incomplete).
	Since *wire.StreamPosition
	// Before: only offsets below this one (0: no bound); a reverse page
	// continues from the oldest offset of the previous page.
	Before uint64
	// From and Until bound the publication time (zero: no bound).
	From, Until time.Time
	// Limit caps the page; 0 means wire.MaxHistoryLimit.
	Limit int
	// Reverse returns the newest publications first.
	Reverse bool
}

// HistoryPage is one page of a history query.
type HistoryPage struct {
	Publications []*Publication
	Epoch        string
	// Offset is the channel's current offset.
	Offset uint64
	// Complete: nothing in the requested range was lost and nothing was
	// cut by the limit.
	Complete bool
}
