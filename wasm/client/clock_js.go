//go:build js

package client

// defaultClock is nil in js builds: the embedding program supplies a Clock
// on JavaScript timers (cmd/mqlive-wasm), so that package time stays out.
func defaultClock() Clock { return nil }
