package wire

import "github.com/mqlive/mqlive/bridge/wire/protocol"

// The protocol's constants are defined once, in bridge/wire/protocol (shared
// with the WebAssembly client and, generated, the JavaScript SDK); these are
// the same constants under the names the bridge uses.

// Subprotocol is the WebSocket subprotocol the server selects (PROTOCOL.md
// "Transport").
const Subprotocol = protocol.Subprotocol

// Method names.
const (
	MethodConnect     = protocol.MethodConnect
	MethodSubscribe   = protocol.MethodSubscribe
	MethodUnsubscribe = protocol.MethodUnsubscribe
	MethodRefresh     = protocol.MethodRefresh
	MethodPublish     = protocol.MethodPublish
	MethodCommand     = protocol.MethodCommand
	MethodPresence    = protocol.MethodPresence
	MethodHistory     = protocol.MethodHistory
	MethodPing        = protocol.MethodPing
	MethodReport      = protocol.MethodReport
	MethodCommands    = protocol.MethodCommands

	// Notifications from the server.
	MethodMessage      = protocol.MethodMessage
	MethodLagged       = protocol.MethodLagged
	MethodDisconnect   = protocol.MethodDisconnect
	MethodUnsubscribed = protocol.MethodUnsubscribed
)

// UnsubscribedReasonPermission: the current token does not allow the
// channel.
const UnsubscribedReasonPermission = protocol.UnsubscribedReasonPermission

// JSON-RPC error codes (JSON-RPC 2.0 §5.1 plus the mqlive range).
const (
	CodeParseError     = protocol.CodeParseError
	CodeInvalidRequest = protocol.CodeInvalidRequest
	CodeMethodNotFound = protocol.CodeMethodNotFound
	CodeInvalidParams  = protocol.CodeInvalidParams
	CodeInternal       = protocol.CodeInternal
	CodeUnauthorized   = protocol.CodeUnauthorized
	CodeForbidden      = protocol.CodeForbidden
	CodeTokenExpired   = protocol.CodeTokenExpired
	CodeRateLimited    = protocol.CodeRateLimited
)

// WebSocket close codes (RFC 6455 §7.4.1 plus the mqlive 4000 range).
const (
	CloseNormal       = protocol.CloseNormal
	CloseGoingAway    = protocol.CloseGoingAway
	ClosePolicy       = protocol.ClosePolicy
	CloseTooBig       = protocol.CloseTooBig
	CloseInternal     = protocol.CloseInternal
	CloseUnauthorized = protocol.CloseUnauthorized
	CloseSignedOut    = protocol.CloseSignedOut
	CloseTooSlow      = protocol.CloseTooSlow
	CloseTokenExpired = protocol.CloseTokenExpired
	CloseRateLimited  = protocol.CloseRateLimited
)

// Subscription modes.
const (
	ModeStream = protocol.ModeStream
	ModeLatest = protocol.ModeLatest
)
