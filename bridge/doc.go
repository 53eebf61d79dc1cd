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
// Data path (ARCHITECTURE.md): ingest (paho) → claim (dedup on one node; a
// per-message lease in a cluster, claims.go) → devices.Router →
// Handler.Decode → Store.Apply (latest state) → Fanout.Publish (history
// with epoch and offset, and fan-out) → every node's fan-out subscription →
// hub (one bounded queue and one writer per socket) → ws. One delivery
// path: a node delivers only what its fan-out subscription hands it, its
// own publications included.
//
// The backplane (backplane.go) is where store, fan-out, presence, dedup,
// node registry, control and leases live: memory implementations on one
// node (cluster.backplane memory), Valkey ones in a cluster (package
// valkey). A cluster node binds its listeners at New and connects to Valkey
// in Run, with backoff; /readyz says 503 until then.
//
// The ingest pipeline runs on the MQTT client's goroutine, or on
// cluster.ingest_workers lanes (lanes.go) so that Valkey round trips
// overlap; one topic's messages always share a lane. It never blocks on a
// client: delivery only appends to per-socket queues. It waits for the
// backplane, retrying, rather than drop a message.
//
// A Bridge is safe for concurrent use once built; Run may be called once.
package bridge
