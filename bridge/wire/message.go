package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Request is a JSON-RPC 2.0 request from a client.
type Request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// Error is a JSON-RPC 2.0 error object. It is also a Go error.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return "rpc error " + strconv.Itoa(e.Code) + ": " + e.Message }

// NewError returns an *Error.
func NewError(code int, msg string) *Error { return &Error{Code: code, Message: msg} }

// Response is a JSON-RPC 2.0 response. Exactly one of Result and Error is set.
type Response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Notification is a server-to-client message without an id.
type Notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

var nullID = json.RawMessage("null")

// ParseRequest decodes one client frame. A frame that is not JSON yields
// CodeParseError; valid JSON that is not a request yields CodeInvalidRequest.
// In both cases the returned id is the request's id when it could be read,
// else null, so the caller can always answer.
func ParseRequest(frame []byte) (*Request, json.RawMessage, *Error) {
	if req, ok := parseRequestFast(frame); ok {
		return req, req.ID, nil
	}
	return parseRequest(frame)
}

// parseRequest is ParseRequest's general path.
func parseRequest(frame []byte) (*Request, json.RawMessage, *Error) {
	// One pass: Unmarshal validates the whole frame before decoding and
	// reports bad JSON as a *json.SyntaxError.
	var req Request
	err := json.Unmarshal(frame, &req)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return nil, nullID, NewError(CodeParseError, "parse error: frame is not valid JSON")
	}
	if trimmed := bytes.TrimLeft(frame, " \t\r\n"); trimmed[0] != '{' {
		// Batches (arrays) are not used by this protocol.
		return nil, nullID, NewError(CodeInvalidRequest, "invalid request: expected one JSON object")
	}
	if err != nil {
		// A member of the wrong type does not stop encoding/json from
		// reading the others, so the id is often still known.
		id := validID(req.ID)
		if id == nil {
			id = nullID
		}
		return nil, id, NewError(CodeInvalidRequest, "invalid request: "+shortErr(err))
	}
	id := validID(req.ID)
	if id == nil {
		return nil, nullID, NewError(CodeInvalidRequest, "invalid request: id must be a number or a string")
	}
	if req.JSONRPC != "2.0" {
		return nil, id, NewError(CodeInvalidRequest, `invalid request: jsonrpc must be "2.0"`)
	}
	if req.Method == "" {
		return nil, id, NewError(CodeInvalidRequest, "invalid request: method is required")
	}
	req.ID = id
	return &req, id, nil
}

// validID returns a copy of a request id that is a JSON number or string
// (JSON-RPC 2.0 §4), or nil when it is missing or of another type.
func validID(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || len(raw) > 128 {
		return nil
	}
	switch c := raw[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return bytes.Clone(raw)
	}
	return nil
}

func shortErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// DecodeParams unmarshals params into v, rejecting unknown fields, and
// returns a CodeInvalidParams error that says what is wrong.
func DecodeParams(params json.RawMessage, v any) *Error {
	if decodeParamsFast(params, v) {
		return nil
	}
	return decodeParams(params, v)
}

// decodeParams is DecodeParams' general path.
func decodeParams(params json.RawMessage, v any) *Error {
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return NewError(CodeInvalidParams, "invalid params: "+shortErr(err))
	}
	return nil
}

// StreamPosition is a point in a channel's history.
type StreamPosition struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// ConnectParams are the params of connect.
type ConnectParams struct {
	Token  string `json:"token"`
	Client string `json:"client,omitempty"`
}

// ConnectResult is the result of connect.
type ConnectResult struct {
	Session        string    `json:"session"`
	Node           string    `json:"node"`
	User           string    `json:"user"`
	Tenant         string    `json:"tenant"`
	PingIntervalMS int64     `json:"ping_interval_ms"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// SubscribeParams are the params of subscribe.
type SubscribeParams struct {
	Channel   string          `json:"channel"`
	Mode      string          `json:"mode,omitempty"`
	MaxRateHz float64         `json:"max_rate_hz,omitempty"`
	Since     *StreamPosition `json:"since,omitempty"`
}

// SubscribeResult is the result of subscribe.
type SubscribeResult struct {
	Channel   string            `json:"channel"`
	Epoch     string            `json:"epoch"`
	Offset    uint64            `json:"offset"`
	Recovered bool              `json:"recovered"`
	Snapshot  []json.RawMessage `json:"snapshot"`
}

// ChannelParams are the params of unsubscribe and presence.
type ChannelParams struct {
	Channel string `json:"channel"`
}

// RefreshParams are the params of refresh.
type RefreshParams struct {
	Token string `json:"token"`
}

// RefreshResult is the result of refresh.
type RefreshResult struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// PublishParams are the params of publish.
type PublishParams struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// PublishResult is the result of publish.
type PublishResult struct {
	Offset uint64 `json:"offset"`
}

// CommandParams are the params of command.
type CommandParams struct {
	Device string          `json:"device"`
	Name   string          `json:"name"`
	Args   json.RawMessage `json:"args,omitempty"`
}

// CommandResult is the result of command.
type CommandResult struct {
	Accepted bool `json:"accepted"`
}

// CommandsParams are the params of commands.
type CommandsParams struct {
	Device string `json:"device"`
}

// CommandSpec is one command a device accepts: send Name with Args as
// they are, or with arguments filled in after Schema (a JSON Schema).
// Output names the boolean metric the command switches, if any.
type CommandSpec struct {
	Name   string          `json:"name"`
	Label  string          `json:"label"`
	Output string          `json:"output,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// CommandsResult is the result of commands. Allowed tells whether this
// token may send them (the cmd claim); the list is the same either way.
type CommandsResult struct {
	Device   string        `json:"device"`
	Family   string        `json:"family"`
	Allowed  bool          `json:"allowed"`
	Commands []CommandSpec `json:"commands"`
}

// PresenceClient is one entry of a presence result.
type PresenceClient struct {
	User        string    `json:"user"`
	Session     string    `json:"session"`
	Node        string    `json:"node"`
	ConnectedAt time.Time `json:"connected_at"`
}

// PresenceResult is the result of presence.
type PresenceResult struct {
	Clients []PresenceClient `json:"clients"`
}

// HistoryParams are the params of history.
type HistoryParams struct {
	Channel string          `json:"channel"`
	Since   *StreamPosition `json:"since,omitempty"`
	Until   *time.Time      `json:"until,omitempty"`
	Limit   int             `json:"limit,omitempty"`
	// From (RFC 3339), Before (an offset) and Reverse are mqlive
	// extensions: a lower time bound, an upper offset bound, and newest
	// first, so a client pages backwards with before = the oldest offset
	// it has.
	From    *time.Time `json:"from,omitempty"`
	Before  uint64     `json:"before,omitempty"`
	Reverse bool       `json:"reverse,omitempty"`
}

// MaxHistoryLimit caps history's limit param.
const MaxHistoryLimit = 1000

// HistoryResult is the result of history.
type HistoryResult struct {
	Publications []Publication `json:"publications"`
	Epoch        string        `json:"epoch"`
	// Offset is the channel's current offset (an mqlive extension).
	Offset   uint64 `json:"offset"`
	Complete bool   `json:"complete"`
}

// Publication is the unit of every channel.
type Publication struct {
	Channel   string          `json:"channel"`
	Epoch     string          `json:"epoch"`
	Offset    uint64          `json:"offset"`
	Data      json.RawMessage `json:"data"`
	Conflated int             `json:"conflated,omitempty"`
}

// LaggedParams are the params of the lagged notification.
type LaggedParams struct {
	Channel string `json:"channel"`
	Offset  uint64 `json:"offset"`
}

// UnsubscribedParams are the params of the unsubscribed notification
// (MethodUnsubscribed): the server ended the subscription to Channel.
type UnsubscribedParams struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason"` // UnsubscribedReasonPermission
}

// DisconnectParams are the params of the disconnect notification.
type DisconnectParams struct {
	Code      int    `json:"code"`
	Reason    string `json:"reason"`
	Reconnect bool   `json:"reconnect"`
}

// AppendMessage appends the frame of a message notification carrying p to
// dst. It is built by hand because it is on the hot path: one frame per
// publication, shared by every subscriber.
func AppendMessage(dst []byte, p *Publication) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","method":"message","params":{"channel":`...)
	dst = appendJSONString(dst, p.Channel)
	dst = append(dst, `,"epoch":`...)
	dst = appendJSONString(dst, p.Epoch)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendUint(dst, p.Offset, 10)
	if p.Conflated > 1 {
		dst = append(dst, `,"conflated":`...)
		dst = strconv.AppendInt(dst, int64(p.Conflated), 10)
	}
	dst = append(dst, `,"data":`...)
	if len(p.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, p.Data...)
	}
	return append(dst, "}}"...)
}

// appendJSONString appends s as a JSON string. Channel names and epochs are
// printable ASCII, so the fast path copies; anything else goes through
// encoding/json for exact escaping.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// PingResult is the result of ping. TimeMS is the server's clock (Unix
// milliseconds) when it answered, so clients can estimate their clock
// offset from round trips (NTP-style) and measure end-to-end latency
// against the Readings' received_at.
type PingResult struct {
	TimeMS float64 `json:"time_ms"`
}

// ReportParams are the params of report.
type ReportParams struct {
	Latency *LatencyReport `json:"latency,omitempty"`
}

// LatencyReport is a delta histogram of end-to-end delivery latency
// measured by a client since its previous report: Counts has one entry per
// bucket of the server's fixed bounds plus one for +Inf; Sum is in seconds.
type LatencyReport struct {
	Counts []uint64 `json:"counts"`
	Sum    float64  `json:"sum"`
}

// MaxReportSamples bounds the samples one report may carry.
const MaxReportSamples = 100000
