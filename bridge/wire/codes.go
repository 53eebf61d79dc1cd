package wire

// Subprotocol is the WebSocket subprotocol the server selects (PROTOCOL.md
// "Transport").
const Subprotocol = "mqlive.v1"

// Method names.
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

	// Notifications from the server.
	MethodMessage    = "message"
	MethodLagged     = "lagged"
	MethodDisconnect = "disconnect"
)

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
