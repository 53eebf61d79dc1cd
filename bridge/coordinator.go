package bridge

import (
	"context"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/devices"
)

// coordinatorChange applies the availability of a source's coordinator
// (devices.Coordinator, e.g. Zigbee2MQTT's bridge/state) to the source's
// other devices: offline holds them stale, online releases them. Each
// device whose stale flag changed is published, so live dashboards see
// stale:true, then stale:false when the coordinator is back. Both stores
// (memory, and Valkey for a cluster) implement state.SourceHolder.
func (b *Bridge) coordinatorChange(ctx context.Context, src *source, family string, r *devices.Reading) {
	c, ok := src.handler.(devices.Coordinator)
	if !ok {
		return
	}
	online, ok := c.CoordinatorOnline(r)
	if !ok {
		return
	}
	holder, ok := b.bp.store.(state.SourceHolder)
	if !ok {
		return
	}
	var changed []devices.Reading
	err := b.retry(ctx, "hold", func(ctx context.Context) (err error) {
		changed, err = holder.HoldSource(ctx, src.tenant, state.SourceKey(family, src.base), r.Device, !online)
		return err
	})
	if err != nil {
		return // shutting down
	}
	for i := range changed {
		if changed[i].Stale {
			b.metrics.StaleTransitions.WithLabelValues(src.tenant).Inc()
			b.hookStale(src.tenant, &changed[i])
		}
		b.publishReading(ctx, src.tenant, &changed[i])
	}
}
