package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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

// register registers the metrics with every series of every endpoint at
// zero, plus a queue length gauge per endpoint.
func (m *metrics) register(reg prometheus.Registerer, eps []*endpoint) error {
	cs := []prometheus.Collector{m.deliveries, m.seconds}
	for _, e := range eps {
		for _, o := range []string{outcomeDelivered, outcomeFailedAttempt, outcomeGaveUp, outcomeDropped} {
			m.deliveries.WithLabelValues(e.cfg.Name, o)
		}
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

func (m *metrics) outcome(name, outcome string) {
	m.deliveries.WithLabelValues(name, outcome).Inc()
}

func (m *metrics) duration(name string, d time.Duration) {
	m.seconds.WithLabelValues(name).Observe(d.Seconds())
}
