package grafana

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Overview answers, for a fleet of bridges: is it up, is data flowing from
// every tenant and family, how late does it reach browsers, who is
// connected and what is being rejected.
func Overview() (dashboard.Dashboard, error) {
	const ingest = `{tenant=~"$tenant",family=~"$family"}`
	const tenant = `{tenant=~"$tenant"}`
	const job = `{job="` + Job + `"}`
	return newDashboard("mqlive-overview", "mqlive / Overview",
		"Health, ingest, end-to-end latency, connections and errors of every mqlive bridge. "+
			"Filter by tenant and family; drill into one tenant with the mqlive / Tenant dashboard.").
		WithVariable(labelVar("tenant", "tenant", "mqlive_ingest_messages_total", "", true)).
		WithVariable(labelVar("family", "family", "mqlive_ingest_messages_total", tenant, true)).
		WithRow(dashboard.NewRowBuilder("Health")).
		WithPanel(single("Bridges up", "Bridge processes Prometheus can scrape, out of those it knows.", unitCount,
			instant(`sum(up`+job+`)`, "up"), base("red"), step(1, "green"))).
		WithPanel(single("Bridges down", "Bridge processes whose last scrape failed.", unitCount,
			instant(`count(up`+job+` == 0) or vector(0)`, "down"), base("green"), step(1, "red"))).
		WithPanel(single("MQTT ingest connected", "Bridges whose MQTT ingest connection is up, out of the bridges scraped; below the bridge count means a broker is unreachable.", unitCount,
			instant(`sum(mqlive_mqtt_connected)`, "connected"), base("red"), step(1, "green"))).
		WithPanel(single("Ingest", "MQTT messages per second across the selected tenants and families.", unitMsgRate,
			instant(`sum(rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "msg/s"), base("red"), step(0.001, "green"))).
		WithPanel(single("Rejected", "Share of MQTT messages rejected (malformed, too large, unknown device...).", unitRatio,
			instant(`sum(rate(mqlive_ingest_rejected_total`+ingest+`[$__rate_interval])) / sum(rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "rejected"),
			base("green"), step(0.01, "orange"), step(0.05, "red"))).
		WithPanel(single("E2E latency p99", "99th percentile of bridge receive → browser page handler, as reported by the browser SDKs.", unitSeconds,
			instant(`histogram_quantile(0.99, sum by (le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p99"),
			base("green"), step(0.5, "orange"), step(1, "red"))).
		WithRow(dashboard.NewRowBuilder("Ingest")).
		WithPanel(graph("Ingest rate by family", "MQTT messages per second, by the device family that took them.", unitMsgRate, halfSize,
			query(`sum by (family) (rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "{{family}}"))).
		WithPanel(graph("Ingest rate by tenant", "MQTT messages per second, by tenant. A tenant dropping to zero has stopped sending.", unitMsgRate, halfSize,
			query(`sum by (tenant) (rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "{{tenant}}"))).
		WithPanel(graph("Verdicts", "What happened to each MQTT message: decoded into readings, ignored (not telemetry), or rejected.", unitMsgRate, thirdSize,
			query(`sum by (verdict) (rate(mqlive_ingest_messages_total`+ingest+`[$__rate_interval]))`, "{{verdict}}"))).
		WithPanel(graph("Devices known", "Devices in each tenant's latest state.", unitCount, thirdSize,
			query(`sum by (tenant) (mqlive_state_devices`+tenant+`)`, "{{tenant}}"))).
		WithPanel(graph("Decode time p99", "99th percentile time to decode one MQTT message, by family.", unitSeconds, thirdSize,
			query(`histogram_quantile(0.99, sum by (family, le) (rate(mqlive_ingest_decode_duration_seconds_bucket{family=~"$family"}[$__rate_interval])))`, "{{family}}"))).
		WithRow(dashboard.NewRowBuilder("End-to-end latency")).
		WithPanel(graph("E2E latency p50 / p99", "Bridge receive → browser page handler, reported by the browser SDKs with a clock offset estimated from ping round trips.", unitSeconds, halfSize,
			query(`histogram_quantile(0.5, sum by (tenant, le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p50 {{tenant}}"),
			query(`histogram_quantile(0.99, sum by (tenant, le) (rate(mqlive_client_delivery_latency_seconds_bucket`+tenant+`[$__rate_interval])))`, "p99 {{tenant}}"))).
		WithPanel(graph("Fan-out time p50 / p99", "Time to queue one publication for every local subscriber: the bridge's own share of the latency.", unitSeconds, halfSize,
			query(`histogram_quantile(0.5, sum by (le) (rate(mqlive_fanout_duration_seconds_bucket`+job+`[$__rate_interval])))`, "p50"),
			query(`histogram_quantile(0.99, sum by (le) (rate(mqlive_fanout_duration_seconds_bucket`+job+`[$__rate_interval])))`, "p99"))).
		WithRow(dashboard.NewRowBuilder("Connections")).
		WithPanel(graph("Connected sessions", "Dashboard sessions past connect, by tenant.", unitCount, thirdSize,
			query(`sum by (tenant) (mqlive_ws_connections`+tenant+`)`, "{{tenant}}"))).
		WithPanel(graph("Subscriptions", "Active channel subscriptions, by tenant.", unitCount, thirdSize,
			query(`sum by (tenant) (mqlive_ws_subscriptions`+tenant+`)`, "{{tenant}}"))).
		WithPanel(graph("Connects and disconnects", "WebSocket upgrades accepted, and connections closed by close code (4009 too slow, 4029 rate limited, 4001/4010 auth).", unitPerSec, thirdSize,
			query(`sum(rate(mqlive_ws_upgrades_total`+job+`[$__rate_interval]))`, "upgrades"),
			query(`sum by (code) (rate(mqlive_ws_disconnects_total`+job+`[$__rate_interval]))`, "closed {{code}}"))).
		WithRow(dashboard.NewRowBuilder("Errors")).
		WithPanel(graph("Rejected messages by reason", "MQTT messages rejected, by tenant and reason.", unitMsgRate, thirdSize,
			query(`sum by (tenant, reason) (rate(mqlive_ingest_rejected_total`+ingest+`[$__rate_interval]))`, "{{tenant}} {{reason}}"))).
		WithPanel(graph("Refused connections", "Connections refused before or at connect: limit, tenant_limit, subprotocol, origin, draining, auth.", unitPerSec, thirdSize,
			query(`sum by (reason) (rate(mqlive_ws_rejected_total`+job+`[$__rate_interval]))`, "{{reason}}"))).
		WithPanel(graph("Failed requests", "Client requests answered with an error, by method and error code; plus requests refused by the rate limit.", unitPerSec, thirdSize,
			query(`sum by (method, code) (rate(mqlive_ws_requests_total{job="`+Job+`",code!="0"}[$__rate_interval]))`, "{{method}} {{code}}"),
			query(`sum(rate(mqlive_ws_rate_limited_total`+job+`[$__rate_interval]))`, "rate limited"))).
		WithRow(dashboard.NewRowBuilder("Cluster")).
		WithPanel(graph("Bridges", "Scrape health (1 up, 0 down) and MQTT ingest connection (1 connected) of each bridge.", unitCount, thirdSize,
			query(`up`+job, "up {{instance}}"),
			query(`mqlive_mqtt_connected`+job, "mqtt {{instance}}"),
			query(`increase(mqlive_mqtt_reconnects_total`+job+`[$__rate_interval])`, "mqtt reconnects {{instance}}"))).
		WithPanel(graph("Backplane", "Per bridge: 1 while it reaches its backplane (Valkey in a cluster), the live nodes its registry lists, and failed backplane operations per second (ingest retries them).", unitCount, thirdSize,
			query(`mqlive_backplane_up`+job, "reachable {{instance}}"),
			query(`mqlive_cluster_nodes`+job, "nodes seen by {{instance}}"),
			query(`sum(rate(mqlive_backplane_errors_total`+job+`[$__rate_interval])) or vector(0)`, "errors/s"),
			query(`sum(rate(mqlive_ingest_claimed_elsewhere_total`+job+`[$__rate_interval])) or vector(0)`, "messages claimed by another node/s"))).
		WithPanel(graph("CPU", "CPU seconds per second used by each bridge process.", unitCount, thirdSize,
			query(`rate(process_cpu_seconds_total`+job+`[$__rate_interval])`, "{{instance}}"))).
		WithPanel(graph("Memory and goroutines", "Resident memory of each bridge; goroutines grow with connections (two per session).", unitBytes, thirdSize,
			query(`process_resident_memory_bytes`+job, "rss {{instance}}"),
			query(`go_goroutines`+job, "goroutines {{instance}}")).
			OverrideByRegexp("goroutines.*", []dashboard.DynamicConfigValue{{Id: "unit", Value: unitCount}, {Id: "custom.axisPlacement", Value: "right"}})).
		Build()
}
