package bridge

import (
	"github.com/gofiber/fiber/v2"

	"github.com/mqlive/mqlive/bridge/mqttws"
	"github.com/mqlive/mqlive/devices"
)

// tenantTopics maps each tenant to the topic filters of its sources: what
// an mqtt.users entry of that tenant may publish and subscribe within.
func tenantTopics(r *devices.Router) map[string][]string {
	m := map[string][]string{}
	for _, mt := range r.Mounts() {
		m[mt.Tenant] = append(m[mt.Tenant], mt.Handler.Filters(mt.Base)...)
	}
	return m
}

// mqttOverWebSocket returns the route setup of /mqtt (README "MQTT over
// WebSocket"), served by the embedded broker; nil with mqtt.url, whose
// broker serves its own WebSocket listener if it has one.
func (b *Bridge) mqttOverWebSocket() func(fiber.Router) {
	if b.broker == nil {
		return nil
	}
	return func(r fiber.Router) {
		mqttws.Register(r, mqttws.Config{
			Broker: b.broker, AllowedOrigins: b.cfg.HTTP.AllowedOrigins,
			Rejected: func(reason string) { b.metrics.Rejected.WithLabelValues("mqtt_" + reason).Inc() },
			Logger:   b.log.With("component", "mqttws"),
		})
	}
}
