// Code generated from bridge/wire/protocol/protocol.go by
// `go generate ./bridge/wire/protocol`. DO NOT EDIT.
//
// The mqlive protocol's constants (PROTOCOL.md, mqlive.v1): method and
// notification names, JSON-RPC error codes, WebSocket close codes.

// Subprotocol is the WebSocket subprotocol the client offers and the server selects (PROTOCOL.md "Transport").
export declare const Subprotocol: 'mqlive.v1';

// Method names of client requests.
export declare const MethodConnect: 'connect';
export declare const MethodSubscribe: 'subscribe';
export declare const MethodUnsubscribe: 'unsubscribe';
export declare const MethodRefresh: 'refresh';
export declare const MethodPublish: 'publish';
export declare const MethodCommand: 'command';
export declare const MethodPresence: 'presence';
export declare const MethodHistory: 'history';
export declare const MethodPing: 'ping';
/** MethodReport carries client-side measurements (an mqlive extension of PROTOCOL.md, documented in the README). */
export declare const MethodReport: 'report';
/** MethodCommands lists the commands a device accepts (an mqlive extension of PROTOCOL.md, documented in the README). */
export declare const MethodCommands: 'commands';

// Notifications from the server.
export declare const MethodMessage: 'message';
export declare const MethodLagged: 'lagged';
export declare const MethodDisconnect: 'disconnect';
/** MethodUnsubscribed: the server ended a subscription (an mqlive extension of PROTOCOL.md, documented in the README), after a refresh whose token no longer allows the channel. */
export declare const MethodUnsubscribed: 'unsubscribed';

// UnsubscribedReasonPermission is the reason of a MethodUnsubscribed notification when the current token does not allow the channel.
export declare const UnsubscribedReasonPermission: 'permission';

// JSON-RPC error codes (JSON-RPC 2.0 §5.1 plus the mqlive range).
export declare const CodeParseError: -32700;
export declare const CodeInvalidRequest: -32600;
export declare const CodeMethodNotFound: -32601;
export declare const CodeInvalidParams: -32602;
export declare const CodeInternal: -32603;
export declare const CodeUnauthorized: 4001;
export declare const CodeForbidden: 4003;
export declare const CodeTokenExpired: 4010;
export declare const CodeRateLimited: 4029;

// WebSocket close codes (RFC 6455 §7.4.1 plus the mqlive 4000 range).
export declare const CloseNormal: 1000;
export declare const CloseGoingAway: 1001;
export declare const ClosePolicy: 1008;
export declare const CloseTooBig: 1009;
export declare const CloseInternal: 1011;
export declare const CloseUnauthorized: 4001;
export declare const CloseSignedOut: 4003;
export declare const CloseTooSlow: 4009;
export declare const CloseTokenExpired: 4010;
export declare const CloseRateLimited: 4029;

// Subscription modes.
export declare const ModeStream: 'stream';
export declare const ModeLatest: 'latest';
