// Package protocol holds the constants of the mqlive dashboard protocol
// (PROTOCOL.md, version mqlive.v1): the WebSocket subprotocol, method and
// notification names, JSON-RPC error codes, WebSocket close codes and
// subscription modes. It is the one source of truth for them, shared by the
// bridge (bridge/wire re-exports every name), the WebAssembly client core
// (wasm/client) and, through the generated sdk-js/src/protocol.js, the
// JavaScript SDK and the dashboard.
//
// It imports nothing, so the browser build can use it without growing: keep
// it to untyped constants. After changing one, run
// `go generate ./bridge/wire/protocol` and commit sdk-js/src/protocol.js and
// protocol.d.ts; TestJSIsFresh fails until then.
package protocol

//go:generate go test -run TestJSIsFresh -update .

// Subprotocol is the WebSocket subprotocol the client offers and the server
// selects (PROTOCOL.md "Transport").
const Subprotocol = "mqlive.v1"

// Method names of client requests.
const (
	MethodConnect     = "connect"
	MethodSubscribe   = "subscribe"
	MethodUnsubscribe = "unsubscribe"
	MethodRefresh     = "refresh"
	MethodPublish     = "publish"
	MethodCommand     = "command"
	MethodPresence    = "presence"
	MethodHistory     = "history"
	MethodPing        = "ping"
	// MethodReport carries client-side measurements (an mqlive extension
	// of PROTOCOL.md, documented in the README).
	MethodReport = "report"
	// MethodCommands lists the commands a device accepts (an mqlive
	// extension of PROTOCOL.md, documented in the README).
	MethodCommands = "commands"
)

// Notifications from the server.
const (
	MethodMessage    = "message"
	MethodLagged     = "lagged"
	MethodDisconnect = "disconnect"
	// MethodUnsubscribed: the server ended a subscription (an mqlive
	// extension of PROTOCOL.md, documented in the README), after a refresh
	// whose token no longer allows the channel.
	MethodUnsubscribed = "unsubscribed"
)

// UnsubscribedReasonPermission is the reason of a MethodUnsubscribed
// notification when the current token does not allow the channel.
const UnsubscribedReasonPermission = "permission"

// JSON-RPC error codes (JSON-RPC 2.0 §5.1 plus the mqlive range).
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	CodeUnauthorized   = 4001
	CodeForbidden      = 4003
	CodeTokenExpired   = 4010
	CodeRateLimited    = 4029
)

// WebSocket close codes (RFC 6455 §7.4.1 plus the mqlive 4000 range).
const (
	CloseNormal       = 1000
	CloseGoingAway    = 1001
	ClosePolicy       = 1008
	CloseTooBig       = 1009
	CloseInternal     = 1011
	CloseUnauthorized = 4001
	CloseSignedOut    = 4003
	CloseTooSlow      = 4009
	CloseTokenExpired = 4010
	CloseRateLimited  = 4029
)

// Subscription modes.
const (
	ModeStream = "stream"
	ModeLatest = "latest"
)
