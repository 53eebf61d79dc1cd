package client

import (
	"strconv"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// Error is a failed request: a JSON-RPC error from the server (PROTOCOL.md
// "Errors and close codes") or one of the client-side errors below, which
// use small positive codes that the server never sends.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string {
	return "mqlive: " + e.Message + " (code " + strconv.Itoa(e.Code) + ")"
}

// Client-side errors.
var (
	ErrTimeout        = &Error{Code: 1, Message: "timeout"}
	ErrConnectionLost = &Error{Code: 2, Message: "connection lost"}
	ErrDisconnected   = &Error{Code: 3, Message: "disconnected"}
	ErrClosed         = &Error{Code: 4, Message: "client closed"}
	ErrNoToken        = &Error{Code: 5, Message: "no token"}
	ErrUnsubscribed   = &Error{Code: 6, Message: "unsubscribed"}
	ErrBadReply       = &Error{Code: 7, Message: "malformed reply"}
)

// Protocol codes the client acts on (PROTOCOL.md), defined once in
// bridge/wire/protocol. A code means the same as a JSON-RPC error and as a
// close code (4003 is both CodeForbidden and CloseSignedOut).
const (
	CodeUnauthorized     = protocol.CodeUnauthorized
	CodePermissionDenied = protocol.CodeForbidden
	CodeTooSlow          = protocol.CloseTooSlow
	CodeTokenExpired     = protocol.CodeTokenExpired
	CodeRateLimited      = protocol.CodeRateLimited
	CodeInvalidParams    = protocol.CodeInvalidParams
	CodeMethodNotFound   = protocol.CodeMethodNotFound
)

func rpcError(v Value) *Error {
	code, _ := num(v, "code")
	msg := str(v, "message")
	if msg == "" {
		msg = "error"
	}
	return &Error{Code: int(code), Message: msg}
}
