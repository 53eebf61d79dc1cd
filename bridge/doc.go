// Package bridge is one mqlive bridge node: it ingests device telemetry
// from MQTT, decodes it through the device-family handlers of package
// devices, keeps each device's latest state and each channel's history, and
// serves tenant-scoped channels to dashboards over WebSocket.
//
// Config is a plain struct (DefaultConfig, Load, Validate). New binds every
// listener synchronously, so a taken port fails before anything runs; Run
// runs the components under one errgroup and shuts them down in reverse
// order (HTTP drain, then ingest, then the embedded broker) when its
// context ends.
//
// Data path (ARCHITECTURE.md): ingest (paho) → devices.Router → Handler.Decode
// → state.Memory (merge, history with epoch and offset) → hub (one bounded
// queue and one writer per socket) → ws. The ingest callback runs on one
// goroutine and never blocks on a client: delivery only appends to
// per-socket queues.
//
// A Bridge is safe for concurrent use once built; Run may be called once.
package bridge
