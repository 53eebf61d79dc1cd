// Package dedup suppresses MQTT QoS 1 redeliveries: a message that carries
// the DUP flag and whose topic and payload the bridge already took within
// the window is dropped, so a broker retrying after a lost PUBACK does not
// show the same Reading twice. Messages without the DUP flag are never
// suppressed, even when identical: a sensor repeating a value is data
// (and keeps the device from going stale).
//
// A Window is safe for concurrent use. Memory is bounded by Size entries;
// the oldest are forgotten first.
package dedup
