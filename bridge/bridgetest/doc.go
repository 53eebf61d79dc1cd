// Package bridgetest starts real mqlive components for tests: a whole
// bridge node on free loopback ports with its embedded broker, and a small
// MQTT publisher; and, for cluster tests, outside servers as processes
// (redis-server, mosquitto, nginx, the bridge binary itself) that a test
// can kill and restart on the same port. Nothing is mocked; every helper
// stops what it started through t.Cleanup, processes by their PID.
//
// Helpers are safe to call from one test goroutine; a Bridge may be shared
// by subtests. Tokens are signed with the bridge's own secret.
package bridgetest
