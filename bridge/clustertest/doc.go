// Package clustertest runs mqlive as a cluster, the way it is deployed:
// several bridge binaries (built once per test run) on one Valkey-compatible
// redis-server (standalone or Redis Cluster), an external mosquitto broker,
// and nginx as a load balancer without sticky sessions. The tests crash
// nodes with SIGKILL, restart Redis and mosquitto, and check what
// PROTOCOL.md and ARCHITECTURE.md promise: the same epoch and offsets on
// every node, recovery with since on another node, no acknowledged device
// message lost or delivered twice, no ghost presence, and cluster-wide
// sign-out, revocation and commands.
//
// The package has tests only. Every process is started on a free loopback
// port and stopped by its PID when its test ends; a test skips, naming the
// Debian package to install, when redis-server, mosquitto or nginx is
// missing. Tests are not parallel: each owns its processes, and timing
// measurements (kill to recovered) stay meaningful on a loaded machine.
package clustertest
