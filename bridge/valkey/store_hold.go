package valkey

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/devices"
)

var _ state.SourceHolder = (*Store)(nil)

// holdBatch is how many device ids one hold script looks at: a tenant's
// index is scanned in batches so that no script holds Valkey for a whole
// large tenant.
const holdBatch = 500

// HoldSource implements state.SourceHolder with the memory store's rules:
// the held-sources hash (which Apply reads) is set or cleared, and the
// tenant's devices are scanned (ZSCAN; the script ignores a device seen
// twice) and those of the source marked. It returns a Reading per device
// whose stale flag changed.
func (s *Store) HoldSource(ctx context.Context, tenant, sourceKey, coordinator string, hold bool) ([]devices.Reading, error) {
	now := s.opt.Now()
	flag := "0"
	if hold {
		flag = "1"
	}
	head := []string{sourceKey, coordinator, flag, strconv.FormatInt(now.UnixMicro(), 10), s.k.device(tenant, "")}
	var out []devices.Reading
	var cursor uint64
	for first := true; first || cursor != 0; first = false {
		entry, err := s.c.Do(ctx, s.c.B().Zscan().Key(s.k.devices(tenant)).Cursor(cursor).Count(holdBatch).Build()).AsScanEntry()
		if err != nil {
			return out, fmt.Errorf("valkey: hold %s: %w", sourceKey, err)
		}
		cursor = entry.Cursor
		args := append(make([]string, 0, len(head)+len(entry.Elements)/2), head...)
		for i := 0; i < len(entry.Elements); i += 2 { // member, score, ...
			args = append(args, entry.Elements[i])
		}
		// The first call runs even without devices: it records the hold.
		if len(args) == len(head) && !first {
			continue
		}
		arr, err := storeHoldScript.Exec(ctx, s.c, []string{s.k.held(tenant), s.k.devices(tenant)}, args).ToArray()
		if err != nil {
			return out, fmt.Errorf("valkey: hold %s: %w", sourceKey, err)
		}
		for i := 0; i+1 < len(arr); i += 2 {
			h, err := arr[i+1].AsStrMap()
			if err != nil {
				return out, fmt.Errorf("valkey: hold %s: %w", sourceKey, err)
			}
			d, ok, err := parseDevice(h)
			if err != nil {
				return out, fmt.Errorf("valkey: hold %s: %w", sourceKey, err)
			}
			if ok {
				out = append(out, d.staleNotice(now))
			}
		}
	}
	return out, nil
}

// staleNotice is the Reading that tells live dashboards the device's stale
// flag (as stored) changed: its identity and tags, nothing it said.
func (d *deviceState) staleNotice(now time.Time) devices.Reading {
	return devices.Reading{Device: d.reading.Device, Family: d.reading.Family, TS: d.reading.TS,
		ReceivedAt: now, Tags: d.reading.Tags, Stale: d.reading.Stale}
}
