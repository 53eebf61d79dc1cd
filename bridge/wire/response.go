package wire

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/mqlive/mqlive/devices"
)

// AppendResult appends the response frame of a request that succeeded to
// dst: the bytes json.Marshal(Response{JSONRPC: "2.0", ID: id, Result:
// result}) gives, and its error. The results of connect and subscribe,
// the two replies of every session start, are built by hand: encoding/json
// took a third of the JSON work of a session start by reflection and by
// compacting every snapshot Reading again (issue 10, W3). Any other
// result, and anything the hand-built path cannot give exactly as
// encoding/json would (FuzzAppendResult holds the two equal), goes
// through json.Marshal.
func AppendResult(dst []byte, id json.RawMessage, result any) ([]byte, error) {
	if out, ok := appendResult(dst, id, result); ok {
		return out, nil
	}
	b, err := json.Marshal(Response{JSONRPC: "2.0", ID: id, Result: result})
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendResult is AppendResult's fast path; ok is false when it cannot
// give encoding/json's output, and dst's new bytes are then garbage.
func appendResult(dst []byte, id json.RawMessage, result any) (_ []byte, ok bool) {
	switch r := result.(type) {
	case ConnectResult:
		dst, ok = appendResponseHead(dst, id)
		if !ok {
			return dst, false
		}
		dst = append(dst, `{"session":`...)
		dst = appendString(dst, r.Session)
		dst = append(dst, `,"node":`...)
		dst = appendString(dst, r.Node)
		dst = append(dst, `,"user":`...)
		dst = appendString(dst, r.User)
		dst = append(dst, `,"tenant":`...)
		dst = appendString(dst, r.Tenant)
		dst = append(dst, `,"ping_interval_ms":`...)
		dst = strconv.AppendInt(dst, r.PingIntervalMS, 10)
		dst = append(dst, `,"expires_at":`...)
		if dst, ok = appendTime(dst, r.ExpiresAt); !ok {
			return dst, false
		}
		return append(dst, "}}"...), true
	case SubscribeResult:
		dst, ok = appendResponseHead(dst, id)
		if !ok {
			return dst, false
		}
		dst = append(dst, `{"channel":`...)
		dst = appendString(dst, r.Channel)
		dst = append(dst, `,"epoch":`...)
		dst = appendString(dst, r.Epoch)
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, r.Offset, 10)
		dst = append(dst, `,"recovered":`...)
		dst = strconv.AppendBool(dst, r.Recovered)
		dst = append(dst, `,"snapshot":`...)
		if r.Snapshot == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '[')
			for i, raw := range r.Snapshot {
				if i > 0 {
					dst = append(dst, ',')
				}
				if dst, ok = appendRaw(dst, raw); !ok {
					return dst, false
				}
			}
			dst = append(dst, ']')
		}
		return append(dst, "}}"...), true
	}
	return dst, false
}

// AppendSnapshotResult appends the response frame of a subscribe answered
// with a snapshot: the bytes AppendResult gives for r with its Snapshot
// (which must be nil) holding each of readings as json.Marshal encodes it,
// and without those it refuses. The Readings go straight into the frame
// (AppendReading), not through a json.RawMessage each that the frame's
// encoding would check and copy again (issue 10, W3).
func AppendSnapshotResult(dst []byte, id json.RawMessage, r SubscribeResult, readings []devices.Reading) ([]byte, error) {
	n := len(dst)
	if r.Snapshot != nil {
		return dst, errors.New("wire: AppendSnapshotResult takes the snapshot as Readings, not in the result")
	}
	r.Snapshot = []json.RawMessage{}
	out, ok := appendResult(dst, id, r) // "snapshot":[]}}
	if !ok {
		// An id or a string encoding/json writes otherwise: the slow way.
		for i := range readings {
			if b, err := AppendReading(nil, &readings[i]); err == nil {
				r.Snapshot = append(r.Snapshot, b)
			}
		}
		return AppendResult(dst[:n], id, r)
	}
	out = out[:len(out)-len("]}}")]
	first := true
	for i := range readings {
		m := len(out)
		if !first {
			out = append(out, ',')
		}
		b, err := AppendReading(out, &readings[i])
		if err != nil {
			out = out[:m]
			continue
		}
		out, first = b, false
	}
	return append(out, "]}}"...), nil
}

// appendResponseHead appends a response's members up to its result's
// value.
func appendResponseHead(dst []byte, id json.RawMessage) ([]byte, bool) {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst, ok := appendRaw(dst, id)
	return append(dst, `,"result":`...), ok
}

// appendRaw appends a json.RawMessage as encoding/json encodes one: a nil
// one as null, and one that is valid JSON, already compact and with <, >,
// &, U+2028 and U+2029 escaped as it is (AppendReading's output, a request
// id); not ok for anything encoding/json would change or refuse.
func appendRaw(dst []byte, raw json.RawMessage) ([]byte, bool) {
	if raw == nil {
		return append(dst, "null"...), true
	}
	if !compactEscaped(raw) || !json.Valid(raw) {
		return dst, false
	}
	return append(dst, raw...), true
}

// compactEscaped reports whether JSON text has no whitespace outside its
// strings and nothing encoding/json escapes by default (<, >, &, U+2028,
// U+2029) anywhere: what json.Marshal copies unchanged into its output.
func compactEscaped(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xA8 || raw[i+2] == 0xA9):
			return false
		case inString:
			if c == '\\' {
				i++ // the escaped character, which may be a quote
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return true
}
