// Package devicestest is the conformance kit for device families: Run
// checks a Handler against the contract of package devices (valid ids and
// filters, no panic and no Reading on hostile payloads, well-formed
// Readings, Sampler round trips, concurrent purity), and Fixtures replays
// documented payloads with their expected Readings.
//
// It imports only the standard library and package devices, so any family,
// including one written outside this module, can use it from its tests.
//
// # Concurrency
//
// Run and Fixtures call Decode from several goroutines to catch shared
// mutable state; they must themselves be called from the test's goroutine.
package devicestest
