// Package embedded runs an MQTT broker (mochi-mqtt) inside the mqlive
// process, so that `mqlive` with no configuration has somewhere for devices
// and the simulator to publish.
//
// The embedded broker is meant for a single node and for development: it
// accepts anonymous clients and grants every client read and write access to
// every topic, keeps sessions and retained messages in memory unless
// Config.DataDir names a directory for them to survive a restart in, and is
// bound to loopback by default. Production deployments point the bridge at an
// external broker (Mosquitto, EMQX, HiveMQ) with authentication instead.
//
// This is the only package that imports mochi-mqtt.
//
// Concurrency: New binds the TCP listener before it returns, so a port clash
// is reported at start and Addr reports the real port when ":0" was asked
// for. Run serves until its context is done and may be called once. Close is
// idempotent and safe to call from any goroutine, before, during or after
// Run; Addr and URL are safe for concurrent use. With Config.DataDir, New
// opens and locks the storage file and Close releases it, after the last
// client goroutine has ended.
package embedded
