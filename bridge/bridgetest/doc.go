// Package bridgetest starts real mqlive components for tests: a whole
// bridge node on free loopback ports with its embedded broker, and a small
// MQTT publisher. Nothing is mocked; every helper stops what it started
// through t.Cleanup.
//
// Helpers are safe to call from one test goroutine; a Bridge may be shared
// by subtests. Tokens are signed with the bridge's own secret.
package bridgetest
