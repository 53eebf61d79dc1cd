// Package jsonscan reads the small JSON objects of the bridge's hot paths
// (request params, token claims) without reflection, for fast paths that
// stand in front of encoding/json: it accepts only what it can read
// exactly as encoding/json would (plain strings without escapes, numbers,
// booleans, arrays of plain strings, each member once, by its exact
// name), checks the text as it reads it, and says no to anything else,
// which the caller then leaves to encoding/json.
//
// It imports the standard library only (devices TestStandardLibraryOnly
// holds it to that, as bridge/wire imports it).
package jsonscan
