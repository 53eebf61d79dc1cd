// Package devices turns device families' native MQTT messages into
// normalised Readings (READINGS.md).
//
// A family is a Handler: it names the topic filters to subscribe under a
// base topic and decodes one message into zero or more Readings. Shipped
// families are listed by Builtin (Zigbee2MQTT, Tasmota, The Things Stack,
// OwnTracks, Shelly, Homie, Home Assistant discovery, ESPHome; Sparkplug B
// lives in the sparkplug subpackage and package families lists them all);
// the json family is built from configuration with NewJSON. A Registry holds families by id
// at their default bases; a Router maps configured sources (family, tenant,
// base) to topics and refuses sources whose filters overlap, so a message
// belongs to exactly one source and one tenant.
//
// Topic filter validation and matching (ValidFilter, Match, Overlap) follow
// MQTT 3.1.1 and 5.0 §4.7, including the rule that wildcards at the first
// level do not match topics beginning with '$' [MQTT-4.7.2-1].
//
// Families may also implement the optional interfaces Sampler (realistic
// traffic for the simulator and round-trip tests), Staler (how long a silent
// device stays fresh) and Commander (dashboard commands encoded to the
// family's command topic; refusals wrap ErrInvalidCommand).
//
// Decoders are hardened against hostile payloads: size, UTF-8 and nesting
// depth are checked by one linear scan before any JSON is parsed
// (CheckPayload), numbers outside float64 are rejected, and every rejection
// is a *DecodeError with a reason from a small fixed set.
//
// This package imports only the standard library, so that any Go client
// can decode device payloads without pulling in the bridge.
//
// # Concurrency
//
// Decode never does I/O or blocks and is safe for concurrent use. Most
// handlers are stateless values and Decode is pure. Families whose format
// needs metadata sent in other messages learn it as they decode, in a
// bounded table (MaxLearnt entries) behind a lock, keyed by base: Homie
// ($datatype, $unit, $nodes), Home Assistant (discovery configs) and
// Sparkplug B (aliases and bdSeq from births). They implement Learner, and
// one source's messages must reach them in arrival order; Builtin returns
// fresh state on every call. Registry, Router and
// JSON are immutable after construction and safe for concurrent use. Decode
// never retains or modifies Message.Payload; Readings it returns are owned
// by the caller. Sampler methods are safe for concurrent use as long as
// each goroutine passes its own *rand.Rand.
package devices
