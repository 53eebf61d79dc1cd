// Code generated from bridge/wire/protocol/protocol.go by
// `go generate ./bridge/wire/protocol`. DO NOT EDIT.
//
// The mqlive protocol's constants (PROTOCOL.md, mqlive.v1): method and
// notification names, JSON-RPC error codes, WebSocket close codes.

// Subprotocol is the WebSocket subprotocol the client offers and the server selects (PROTOCOL.md "Transport").
export const Subprotocol = 'mqlive.v1';

// Method names of client requests.
export const MethodConnect = 'connect';
export const MethodSubscribe = 'subscribe';
export const MethodUnsubscribe = 'unsubscribe';
export const MethodRefresh = 'refresh';
export const MethodPublish = 'publish';
export const MethodCommand = 'command';
export const MethodPresence = 'presence';
export const MethodHistory = 'history';
export const MethodPing = 'ping';
/** MethodReport carries client-side measurements (an mqlive extension of PROTOCOL.md, documented in the README). */
export const MethodReport = 'report';
/** MethodCommands lists the commands a device accepts (an mqlive extension of PROTOCOL.md, documented in the README). */
export const MethodCommands = 'commands';

// Notifications from the server.
export const MethodMessage = 'message';
export const MethodLagged = 'lagged';
export const MethodDisconnect = 'disconnect';
/** MethodUnsubscribed: the server ended a subscription (an mqlive extension of PROTOCOL.md, documented in the README), after a refresh whose token no longer allows the channel. */
export const MethodUnsubscribed = 'unsubscribed';

// UnsubscribedReasonPermission is the reason of a MethodUnsubscribed notification when the current token does not allow the channel.
export const UnsubscribedReasonPermission = 'permission';

// JSON-RPC error codes (JSON-RPC 2.0 §5.1 plus the mqlive range).
export const CodeParseError = -32700;
export const CodeInvalidRequest = -32600;
export const CodeMethodNotFound = -32601;
export const CodeInvalidParams = -32602;
export const CodeInternal = -32603;
export const CodeUnauthorized = 4001;
export const CodeForbidden = 4003;
export const CodeTokenExpired = 4010;
export const CodeRateLimited = 4029;

// WebSocket close codes (RFC 6455 §7.4.1 plus the mqlive 4000 range).
export const CloseNormal = 1000;
export const CloseGoingAway = 1001;
export const ClosePolicy = 1008;
export const CloseTooBig = 1009;
export const CloseInternal = 1011;
export const CloseUnauthorized = 4001;
export const CloseSignedOut = 4003;
export const CloseTooSlow = 4009;
export const CloseTokenExpired = 4010;
export const CloseRateLimited = 4029;

// Subscription modes.
export const ModeStream = 'stream';
export const ModeLatest = 'latest';
