package grafana

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Delivery shows the path from a publication to the browsers: fan-out,
// per-socket queues, conflation, lagging and slow consumers, recovery
// after reconnects, and what clients ask for.
func Delivery() (dashboard.Dashboard, error) {
	const job = `{job="` + Job + `"}`
	const tenant = `{tenant=~"$tenant"}`
	return newDashboard("mqlive-delivery", "mqlive / Delivery and clients",
		"Who is connected and who is too slow: fan-out, socket queues, conflation, lagged and slow-consumer disconnects, "+
			"recovery after reconnects, client requests and traffic.").
		WithVariable(labelVar("tenant", "tenant", "mqlive_ws_connections", "", true)).
		WithRow(dashboard.NewRowBuilder("Clients")).
		WithPanel(single("Sessions", "Connected dashboard sessions, selected tenants.", unitCount,
			instant(`sum(mqlive_ws_connections`+tenant+`)`, "sessions"))).
		WithPanel(single("Subscriptions per session", "Average channel subscriptions per connected session.", unitCount,
			instant(`sum(mqlive_ws_subscriptions`+tenant+`) / sum(mqlive_ws_connections`+tenant+`)`, "subs/session"))).
		WithPanel(single("Slow-consumer disconnects (1h)", "Stream-mode clients closed with 4009 in the last hour: they could not keep up for longer than http.slow_consumer_timeout.", unitCount,
			instant(`sum(increase(mqlive_hub_slow_consumer_disconnects_total`+job+`[1h]))`, "4009"), base("green"), step(1, "orange"), step(10, "red"))).
		WithPanel(single("Conflated", "Share of publications merged into a later one for latest-mode clients (a slow latest-mode client loses intermediate values, not the latest).", unitRatio,
			instant(`sum(rate(mqlive_hub_conflated_total`+job+`[$__rate_interval])) / sum(rate(mqlive_fanout_publications_total`+job+`[$__rate_interval]))`, "conflated"),
			base("green"), step(0.1, "orange"), step(0.5, "red"))).
		WithPanel(single("Recovered", "Share of subscribes with a since position that recovered from history instead of falling back to a snapshot.", unitRatio,
			instant(`sum(rate(mqlive_hub_recoveries_total{job="`+Job+`",outcome="recovered"}[$__rate_interval])) / sum(rate(mqlive_hub_recoveries_total`+job+`[$__rate_interval]))`, "recovered"))).
		WithPanel(single("Queue depth p99", "99th percentile of frames a socket writer finds waiting; near http.queue_size means clients are falling behind.", unitCount,
			instant(`histogram_quantile(0.99, sum by (le) (rate(mqlive_hub_queue_depth_bucket`+job+`[$__rate_interval])))`, "p99"),
			base("green"), step(64, "orange"), step(200, "red"))).
		WithPanel(graph("Sessions by tenant", "Connected dashboard sessions.", unitCount, thirdSize,
			query(`sum by (tenant) (mqlive_ws_connections`+tenant+`)`, "{{tenant}}"))).
		WithPanel(graph("Subscriptions by tenant", "Active channel subscriptions.", unitCount, thirdSize,
			query(`sum by (tenant) (mqlive_ws_subscriptions`+tenant+`)`, "{{tenant}}"))).
		WithPanel(graph("Disconnects by close code", "1000/1001 normal, 1008 policy, 1009 frame too big, 4001 unauthorized, 4009 too slow, 4010 token expired, 4029 rate limited.", unitPerSec, thirdSize,
			query(`sum by (code) (rate(mqlive_ws_disconnects_total`+job+`[$__rate_interval]))`, "{{code}}"))).
		WithRow(dashboard.NewRowBuilder("Queues and slow consumers")).
		WithPanel(graph("Fan-out", "Publications appended per second by channel kind, and the time to queue one for every local subscriber.", unitPerSec, halfSize,
			query(`sum by (kind) (rate(mqlive_fanout_publications_total`+job+`[$__rate_interval]))`, "{{kind}}"),
			query(`histogram_quantile(0.99, sum by (le) (rate(mqlive_fanout_duration_seconds_bucket`+job+`[$__rate_interval])))`, "fan-out p99")).
			OverrideByName("fan-out p99", []dashboard.DynamicConfigValue{{Id: "unit", Value: unitSeconds}, {Id: "custom.axisPlacement", Value: "right"}})).
		WithPanel(graph("Socket queue depth", "Frames waiting when a socket writer wakes up (p50, p99): how far behind the clients are.", unitCount, halfSize,
			query(`histogram_quantile(0.5, sum by (le) (rate(mqlive_hub_queue_depth_bucket`+job+`[$__rate_interval])))`, "p50"),
			query(`histogram_quantile(0.99, sum by (le) (rate(mqlive_hub_queue_depth_bucket`+job+`[$__rate_interval])))`, "p99"))).
		WithPanel(graph("Conflation and lag", "Publications merged for latest-mode clients; lagged notices to stream-mode clients whose queue overflowed; stream clients closed 4009 for staying too slow.", unitPerSec, fullSize,
			query(`sum(rate(mqlive_hub_conflated_total`+job+`[$__rate_interval]))`, "conflated"),
			query(`sum(rate(mqlive_hub_lagged_total`+job+`[$__rate_interval]))`, "lagged"),
			query(`sum(rate(mqlive_hub_slow_consumer_disconnects_total`+job+`[$__rate_interval]))`, "slow-consumer disconnects"))).
		WithRow(dashboard.NewRowBuilder("Recovery and requests")).
		WithPanel(graph("Subscribe outcomes", "Subscribes that recovered missed publications from history, or got a snapshot (first subscribe, or history lost).", unitPerSec, halfSize,
			query(`sum by (outcome) (rate(mqlive_hub_recoveries_total`+job+`[$__rate_interval]))`, "{{outcome}}"))).
		WithPanel(graph("Requests", "Client requests by method and result code (0 = success).", unitPerSec, halfSize,
			query(`sum by (method, code) (rate(mqlive_ws_requests_total`+job+`[$__rate_interval]))`, "{{method}} {{code}}"),
			query(`sum(rate(mqlive_ws_rate_limited_total`+job+`[$__rate_interval]))`, "rate limited (4029)"))).
		WithPanel(graph("Latency reports", "Latency reports from browser SDKs, by outcome; invalid ones are dropped.", unitPerSec, halfSize,
			query(`sum by (outcome) (rate(mqlive_client_reports_total`+job+`[$__rate_interval]))`, "{{outcome}}"))).
		WithPanel(graph("Refused connections", "Connections refused before or at connect, by reason.", unitPerSec, halfSize,
			query(`sum by (reason) (rate(mqlive_ws_rejected_total`+job+`[$__rate_interval]))`, "{{reason}}"))).
		WithRow(dashboard.NewRowBuilder("Traffic")).
		WithPanel(graph("Frames", "WebSocket frames per second, in and out.", unitPerSec, halfSize,
			query(`sum(rate(mqlive_ws_frames_received_total`+job+`[$__rate_interval]))`, "received"),
			query(`sum(rate(mqlive_ws_frames_sent_total`+job+`[$__rate_interval]))`, "sent"))).
		WithPanel(graph("Bytes", "WebSocket payload bytes per second, in and out.", unitBytesSec, halfSize,
			query(`sum(rate(mqlive_ws_received_bytes_total`+job+`[$__rate_interval]))`, "received"),
			query(`sum(rate(mqlive_ws_sent_bytes_total`+job+`[$__rate_interval]))`, "sent"))).
		Build()
}
