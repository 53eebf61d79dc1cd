// Package embedded runs an MQTT broker (mochi-mqtt) inside the mqlive
// process, so that `mqlive` with no configuration has somewhere for devices
// and the simulator to publish.
//
// Access control follows Mosquitto 2.0: without Config.Users the broker
// admits anonymous clients from this machine only, and its TCP listener is
// bound to loopback whatever host Config.Listen names (New logs one line
// saying so). With Users it listens where it is told and admits only those
// users (bcrypt password hashes); each user may
// publish to and subscribe within its own topic filters, and, when it has a
// tenant, only within the topics of that tenant's sources
// (Config.TenantTopics), checked on every publish, subscription, will and
// delivery through mochi's OnConnectAuthenticate and OnACLCheck hooks.
// Refusals are counted (mqlive_broker_connect_refused_total,
// mqlive_broker_acl_denied_total).
//
// ServeConn serves a client on a connection accepted elsewhere (MQTT over
// WebSocket on the bridge's HTTP server, package mqttws) with the same
// sessions and access control as TCP clients.
//
// Subscribe and Publish connect the bridge to the broker inside the
// process (mochi's inline client): a device's message reaches the
// subscription's callback on the device's own goroutine, already decoded,
// with no loopback connection, and a command is published without one.
//
// Sessions and retained messages are kept in memory unless Config.DataDir
// names a directory for them to survive a restart in.
//
// This is the only package that imports mochi-mqtt.
//
// Concurrency: New binds the TCP listener before it returns, so a port clash
// is reported at start and Addr reports the real port when ":0" was asked
// for. Run serves until its context is done and may be called once. Close is
// idempotent and safe to call from any goroutine, before, during or after
// Run; Addr, URL, ServeConn, Subscribe and Publish are
// safe for concurrent use (ServeConn blocks for the life of its client). With Config.DataDir, New
// opens and locks the storage file and Close releases it, after the last
// client goroutine has ended.
package embedded
