package bridge

import "github.com/mqlive/mqlive/bridge/metrics"

// MetricsOf exposes a bridge's metrics to the external tests.
func MetricsOf(b *Bridge) *metrics.Metrics { return b.metrics }
