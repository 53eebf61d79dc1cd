// Package wire holds the types and constants of the mqlive dashboard
// protocol (PROTOCOL.md, version mqlive.v1): JSON-RPC 2.0 envelopes, method
// names, error and close codes, channel names and the Publication unit.
//
// It imports the standard library only, so any Go client can share it. All
// functions are pure and safe for concurrent use; values returned by Parse*
// functions own their memory (they never alias the input buffer).
package wire
