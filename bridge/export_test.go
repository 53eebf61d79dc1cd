package bridge

import (
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
)

// MetricsOf exposes a bridge's metrics to the external tests.
func MetricsOf(b *Bridge) *metrics.Metrics { return b.metrics }

// HoldTenant locks a tenant's memory state until release is called, as a
// long snapshot of that tenant would.
func HoldTenant(b *Bridge, tenant string) (release func()) {
	held, done := make(chan struct{}), make(chan struct{})
	go b.mem.Do(tenant, func(*state.Tenant) { close(held); <-done })
	<-held
	return func() { close(done) }
}
