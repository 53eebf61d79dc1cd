// Package metrics defines every Prometheus metric of the bridge as one
// struct built from a prometheus.Registerer (no global registry), so tests
// build their own and several bridges can run in one process.
//
// Names follow mqlive_<subsystem>_<name>_<unit>. Labels are bounded: tenant,
// family, reason, verdict, kind, outcome and close code; never a device or
// session id. All methods of the client_golang types are safe for
// concurrent use.
package metrics
