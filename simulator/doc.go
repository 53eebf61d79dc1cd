// Package simulator runs a fleet of simulated devices against an MQTT
// broker, each device speaking its family's real wire format through the
// family's devices.Sampler. It drives `make run` (live devices for a
// newcomer), the end-to-end tests and the load generator behind
// `make bench`; cmd/mqlive-sim is its command.
//
// Every device has its own MQTT connection whose Will is the family's
// offline availability message (the LWT), publishes its birth message on
// every connect, then one Sample round per Config.Interval with a small
// jitter. With Config.Churn a device drops its TCP connection without an
// MQTT DISCONNECT, so the broker publishes its LWT, and reconnects a few
// intervals later. With Config.Bad some rounds are replaced by a malformed
// payload on the family's topic, to exercise rejection paths.
//
// # Determinism
//
// Device names, and the payload values of every device's k-th round, are a
// function of Config.Seed alone: each device draws payload values from its
// own random stream, separate from the stream that drives jitter, churn and
// bad payloads, so neither scheduling nor churn changes what a device
// reports. Payloads also contain time; when Config.Start is set the k-th
// round is stamped Start + k*Interval, which makes two runs with the same
// seed publish byte-identical sequences per device. With Start zero rounds
// are stamped with the wall clock, as a real device would.
//
// This package and bridge/ingest are the only importers of paho.
//
// # Concurrency
//
// New validates the Config and names the devices; Run runs every device in
// its own goroutine and may be called once. Run returns after every device
// has disconnected. Devices and Stats are safe for concurrent use.
package simulator
