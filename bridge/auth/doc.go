// Package auth verifies and mints the JSON Web Tokens that dashboard clients
// present in `connect` and `refresh` (PROTOCOL.md "Tokens (JWT)"), and turns a
// verified token into an Identity that answers permission questions.
//
// It is the only package that imports the JWT library, so the rest of the
// bridge sees three things: a Verifier, an Identity, and the two sentinel
// errors ErrInvalid (protocol code 4001) and ErrExpired (4010).
//
// Security choices, each on purpose:
//   - A Verifier holds exactly one key and accepts exactly the one algorithm
//     that key implies (HS256 for a shared secret, RS256, ES256 or EdDSA for a
//     PEM public key). `alg: none` and algorithm confusion (an HS256 token
//     whose secret is the public key's bytes) are therefore rejected before any
//     signature check runs.
//   - sub, tenant and exp are required; a token longer than MaxTokenBytes is
//     rejected before it is decoded.
//   - A token that is expired but otherwise sound is ErrExpired, so the client
//     knows a refresh helps; anything else is ErrInvalid.
//
// Concurrency: a Verifier and a Signer are immutable after construction and
// safe for concurrent use by any number of goroutines. An Identity is a plain
// value; its methods only read it, so sharing one between goroutines is safe
// as long as nobody modifies its slices. Verify copies nothing from the token
// string that the caller could later mutate (Go strings are immutable).
package auth
