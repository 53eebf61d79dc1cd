package bridge

import "github.com/mqlive/mqlive/bridge/state"

// updateStateMetrics sets, on a memory backplane, the history bytes and
// channel count of every tenant: the memory the byte budgets
// (state.max_channel_bytes, state.max_tenant_bytes) bound. It takes each
// tenant's lock for two reads, so it costs the number of tenants, not of
// devices or channels.
func (b *Bridge) updateStateMetrics() {
	if b.mem == nil {
		return
	}
	for _, tenant := range b.mem.Tenants() {
		var bytes int64
		var channels int
		b.mem.Do(tenant, func(t *state.Tenant) {
			bytes, channels = t.HistoryBytes(), t.Channels()
		})
		b.metrics.StateHistoryBytes.WithLabelValues(tenant).Set(float64(bytes))
		b.metrics.StateChannels.WithLabelValues(tenant).Set(float64(channels))
	}
}
