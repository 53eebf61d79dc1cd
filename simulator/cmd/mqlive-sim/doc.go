// Command mqlive-sim runs a fleet of simulated devices against an MQTT
// broker, each in its family's real wire format, with births, LWTs, churn
// and optional malformed payloads. Run `mqlive-sim --help` for the flags;
// every flag can also be set with an MQLIVE_SIM_* environment variable.
//
// It exits 0 when stopped by SIGINT/SIGTERM, --count or --duration, and 2
// on a bad flag or environment value.
package main
