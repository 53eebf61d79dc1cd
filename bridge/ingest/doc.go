// Package ingest is the bridge's MQTT subscriber: it keeps one connection to
// a broker, subscribes the device families' topic filters at QoS 1, and hands
// every received message to a Handler as a devices.Message.
//
// With the embedded broker there is no connection: an Inline takes the
// messages from the broker in the process (inline.go), with the same
// Handler, Stats and Publish, on each publisher's goroutine instead of
// paho's one.
//
// This package and the simulator are the only importers of paho.
//
// # Sessions
//
// A Client whose Config.ClientID is set uses a persistent session
// (CleanSession=false): the broker queues QoS 1 messages while the bridge is
// away and delivers them on reconnect, so a restart loses nothing. Without a
// configured ClientID a random id is generated, and a persistent session
// under a random id would only leave orphaned sessions on the broker, so the
// session is clean. Either way the client subscribes again on every connect:
// a broker that restarted without persistence has forgotten the session.
//
// In cluster mode (Config.SharedGroup) the filters are subscribed as
// $share/<group>/<filter>, so each message is consumed by exactly one node.
//
// # Ordering and the Handler
//
// Messages from one device must reach the pipeline in order (a later
// reading must not be overtaken by an earlier one), so paho's OrderMatters is
// left true: the Handler is called synchronously, one message at a time,
// from paho's router goroutine, in the order the broker delivered them. The
// price is that a Handler that blocks stalls the whole connection, including
// keepalive acknowledgements: a Handler must return quickly (enqueue, do not
// do I/O). A Handler that panics is recovered, logged and counted, so one bad
// message cannot take the node down.
//
// # Ownership
//
// The Message given to the Handler owns a private copy of the payload; the
// Handler may keep it after returning. Message.ReceivedAt is set when the
// message is taken from the connection.
//
// # Concurrency
//
// New validates the Config. Run connects (retrying with backoff until its
// context is done), and may be called once. Connected, Publish and Stats are
// safe for concurrent use from any goroutine, including the Handler.
package ingest
