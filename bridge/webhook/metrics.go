package webhook

import "github.com/prometheus/client_golang/prometheus"

// Delivery outcomes, the values of the outcome label.
const (
	outcomeDelivered     = "delivered"
	outcomeFailedAttempt = "failed_attempt"
	outcomeGaveUp        = "gave_up"
	outcomeDropped       = "dropped"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	seconds    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mqlive_webhook_deliveries_total",
			Help: "Webhook events by endpoint and outcome: delivered, failed_attempt (retried or not), gave_up (retry bounds reached), dropped (queue full, oldest dropped).",
		}, []string{"webhook", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mqlive_webhook_attempt_duration_seconds",
			Help:    "Duration of one webhook attempt, by endpoint, until the response headers or the error.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"webhook"}),
	}
}

// register registers the metrics (every endpoint's series exist at zero
// from counters), plus a queue length gauge per endpoint.
func (m *metrics) register(reg prometheus.Registerer, eps []*endpoint) error {
	cs := []prometheus.Collector{m.deliveries, m.seconds}
	for _, e := range eps {
		q := e.queue
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "mqlive_webhook_queue_length",
			Help:        "Webhook events waiting for a worker, by endpoint.",
			ConstLabels: prometheus.Labels{"webhook": e.cfg.Name},
		}, func() float64 { return float64(len(q)) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// counters are one endpoint's series, resolved once: Emit runs on the
// ingest path.
type counters struct {
	delivered, failedAttempt, gaveUp, dropped prometheus.Counter
	seconds                                   prometheus.Observer
}

func (m *metrics) counters(name string) *counters {
	return &counters{
		delivered:     m.deliveries.WithLabelValues(name, outcomeDelivered),
		failedAttempt: m.deliveries.WithLabelValues(name, outcomeFailedAttempt),
		gaveUp:        m.deliveries.WithLabelValues(name, outcomeGaveUp),
		dropped:       m.deliveries.WithLabelValues(name, outcomeDropped),
		seconds:       m.seconds.WithLabelValues(name),
	}
}
