package grafana

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Tenant drills into one tenant: its families, devices, rejections,
// sessions and end-to-end latency.
func Tenant() (dashboard.Dashboard, error) {
	const tenant = `{tenant="$tenant"}`
	const ingest = `{tenant="$tenant",family=~"$family"}`
	return newDashboard("mqlive-tenant", "mqlive / Tenant",
		"One tenant: is each of its families sending, what is rejected and why, how many devices and sessions it has, "+
			"and how late its data reaches its browsers.").
		WithVariable(labelVar("tenant", "tenant", "mqlive_ingest_messages_total", "", false)).
		WithVariable(labelVar("family", "family", "mqlive_ingest_messages_total", tenant, true)).
		WithRow(dashboard.NewRowBuilder("Now")).
		WithPanel(single("Ingest", "MQTT messages per second for this tenant (selected families); 0 means it stopped sending.", unitMsgRate,
			instant(`sum(rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "msg/s"), base("red"), step(0.001, "green"))).
		WithPanel(single("Rejected", "Share of this tenant's MQTT messages rejected.", unitRatio,
			instant(`sum(rate(mqlive_ingest_rejected_total`+ingest+`[$__rate_interval])) / sum(rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "rejected"),
			base("green"), step(0.01, "orange"), step(0.05, "red"))).
		WithPanel(single("Devices", "Devices in the tenant's latest state.", unitCount,
			instant(`sum(mqlive_state_devices`+tenant+`)`, "devices"))).
		WithPanel(single("Sessions", "Connected dashboard sessions of the tenant, all bridges.", unitCount,
			instant(`sum(mqlive_ws_connections`+tenant+`)`, "sessions"))).
		WithPanel(single("Subscriptions", "Active channel subscriptions of the tenant, all bridges.", unitCount,
			instant(`sum(mqlive_ws_subscriptions`+tenant+`)`, "subscriptions"))).
		WithPanel(single("E2E latency p99", "99th percentile bridge → browser latency reported by this tenant's browsers.", unitSeconds,
			instant(`histogram_quantile(0.99, sum by (le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p99"),
			base("green"), step(0.5, "orange"), step(1, "red"))).
		WithRow(dashboard.NewRowBuilder("Ingest")).
		WithPanel(graph("Ingest by family", "MQTT messages per second by family; a family dropping to zero has stopped sending.", unitMsgRate, halfSize,
			query(`sum by (family) (rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "{{family}}"))).
		WithPanel(graph("Verdicts by family", "Decoded, ignored and rejected messages per second, by family.", unitMsgRate, halfSize,
			query(`sum by (family, verdict) (rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "{{family}} {{verdict}}"))).
		WithPanel(graph("Rejections by reason", "Why messages are rejected: invalid_json, too_large, identity_mismatch, device_limit...", unitMsgRate, halfSize,
			query(`sum by (family, reason) (rate(mqlive_ingest_rejected_total`+ingest+`[$__rate_interval]))`, "{{family}} {{reason}}"))).
		WithPanel(graph("Devices and stale transitions", "Devices known, and devices going stale (silent longer than their interval) per second.", unitCount, halfSize,
			query(`sum(mqlive_state_devices`+tenant+`)`, "devices"),
			query(`sum(rate(mqlive_state_stale_transitions_total`+tenant+`[$__rate_interval]))`, "went stale /s")).
			OverrideByName("went stale /s", []dashboard.DynamicConfigValue{{Id: "custom.axisPlacement", Value: "right"}, {Id: "unit", Value: unitPerSec}})).
		WithRow(dashboard.NewRowBuilder("Browsers")).
		WithPanel(graph("E2E latency", "Bridge receive → browser page handler, p50 / p90 / p99, reported by this tenant's browser SDKs.", unitSeconds, halfSize,
			query(`histogram_quantile(0.5, sum by (le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p50"),
			query(`histogram_quantile(0.9, sum by (le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p90"),
			query(`histogram_quantile(0.99, sum by (le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p99"))).
		WithPanel(graph("Sessions and subscriptions", "Connected sessions and active subscriptions of the tenant, by bridge.", unitCount, halfSize,
			query(`sum by (instance) (mqlive_ws_connections`+tenant+`)`, "sessions {{instance}}"),
			query(`sum by (instance) (mqlive_ws_subscriptions`+tenant+`)`, "subscriptions {{instance}}"))).
		Build()
}
