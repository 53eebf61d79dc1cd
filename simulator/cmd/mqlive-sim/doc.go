// Command mqlive-sim runs a fleet of simulated devices against an MQTT
// broker, each in its family's real wire format, with births, LWTs, churn
// and optional malformed payloads. Run `mqlive-sim --help` for the flags;
// every flag can also be set with an MQLIVE_SIM_* environment variable.
//
// `mqlive-sim load` is the load generator (package simulator/load): WebSocket
// subscribers and an MQTT publisher against one bridge, reported as a
// markdown table; `make bench-load` runs it. See `mqlive-sim load --help`.
//
// It exits 0 when stopped by SIGINT/SIGTERM, --count or --duration, and 2
// on a bad flag or environment value.
package main
