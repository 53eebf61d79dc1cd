// Package grafana builds the mqlive Grafana dashboards as Go code with the
// Grafana Foundation SDK, and holds what an operator needs to watch a
// bridge fleet: the generated dashboards (dashboards/*.json, written by
// `make grafana`, i.e. `go run ./grafana/cmd/gen`), Grafana provisioning
// files, a Prometheus scrape config and alert rules with runbooks
// (prometheus/). README.md says how to run them against a local bridge.
//
// Three dashboards answer, from the bridge's metrics alone: is data flowing
// from every tenant and family, how late it reaches browsers, who is
// connected and who is too slow, what is rejected and why, and whether the
// cluster is healthy. Overview covers the fleet, Tenant drills into one
// tenant ($tenant), Delivery covers fan-out, queues, conflation, slow
// consumers and recovery.
//
// Concurrency: the package has no state; every function builds new values
// and may be called from any goroutine. Write replaces files in a
// directory and must not run concurrently with another Write to it.
//
// The tests run the shipped files against real parts: a real Prometheus
// (Debian's prometheus package) scraping a real bridge fed by the simulator
// and real WebSocket clients evaluates every dashboard expression and sees
// every alert fire in a condition provoked for it; promtool checks the
// config and rules and runs the rules' unit tests; and the committed JSON
// must equal the generated JSON and decode strictly into the SDK's types.
package grafana
