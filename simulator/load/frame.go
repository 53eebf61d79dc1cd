package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// Metric names the publisher stamps into every payload. They pass through
// the zigbee2mqtt family as plain metrics, so each delivery carries the
// step it belongs to, its sequence number and its send time.
const (
	metricStep = "lg_step"    // sweep step, 1-based; 0 for priming messages
	metricSeq  = "lg_seq"     // publication number within the run
	metricSent = "lg_sent_us" // send time, µs since the load generator's clock origin
)

// frameKind says what a server frame is, for the subscriber's counters.
type frameKind int

const (
	frameOther      frameKind = iota // a response or a notification the load generator does not count
	frameMessage                     // a message notification carrying a load generator payload
	frameLagged                      // the server dropped this subscriber's pending messages
	frameDisconnect                  // the server is closing the socket
)

// delivery is what a message notification tells about one publication.
type delivery struct {
	channel []byte // aliases the frame: valid until the next read
	offset  int64
	step    int64
	seq     int64
	sentUS  int64
}

var (
	fastPrefix = []byte(`{"jsonrpc":"2.0","method":"` + protocol.MethodMessage + `","params":{"channel":"`)
	keyOffset  = []byte(`"offset":`)
	// stampKeys are the stamp keys after their opening quote, in the
	// order of fastMessage's stamps; keyStampPrefix is what they start with.
	stampKeys      = [...][]byte{[]byte(metricStep + `":`), []byte(metricSeq + `":`), []byte(metricSent + `":`)}
	keyStampPrefix = []byte(`"lg_`)

	errNoStamp = errors.New("message without the load generator's stamps")
)

// parseFrame reads one server frame. Messages take a fast path that finds
// the few numbers the measurement needs without decoding the Reading: at
// 150k deliveries/s a full json.Unmarshal would cost the load generator
// about a core, which it shares with the server it measures. The fast path
// relies only on the frame being compact JSON that starts with the
// notification's fixed prefix; any other frame (or a fast path miss) is
// decoded in full, so a change of the server's encoding costs speed, not
// correctness.
func parseFrame(b []byte) (frameKind, delivery, error) {
	if bytes.HasPrefix(b, fastPrefix) {
		if d, ok := fastMessage(b); ok {
			return frameMessage, d, nil
		}
	}
	return slowFrame(b)
}

// fastMessage extracts the channel, offset and stamps of a compact message
// notification. Inside JSON strings every '"' is escaped, so a match of
// `"key":` is always a key; offset is the first such key (params comes
// before data) and the stamps only ever appear in the Reading's metrics.
// The stamps are found in one forward pass over the occurrences of their
// common prefix `"lg_`, each taken at its first occurrence: what three
// searches from the channel on would find, for a fraction of the scanning
// (the three searches were 7% of the generator's CPU in W1).
func fastMessage(b []byte) (delivery, bool) {
	rest := b[len(fastPrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return delivery{}, false
	}
	d := delivery{channel: rest[:end]}
	rest = rest[end:]
	var ok bool
	if d.offset, ok = numberAfter(rest, keyOffset); !ok {
		return delivery{}, false
	}
	stamps := [...]*int64{&d.step, &d.seq, &d.sentUS}
	var found [len(stamps)]bool
	for n := 0; n < len(stamps); {
		// Every `"lg_` has its '_' 3 bytes on: '_' is rare in a frame
		// and found a vector at a time, where bytes.Index restarts at
		// every '"'.
		i := bytes.IndexByte(rest, '_')
		if i < 0 {
			return delivery{}, false
		}
		key := rest[max(i-len(keyStampPrefix)+1, 0):]
		rest = rest[i+1:]
		if !bytes.HasPrefix(key, keyStampPrefix) {
			continue
		}
		key = key[1:] // past the key's opening quote
		for k, stamp := range stampKeys {
			if !found[k] && bytes.HasPrefix(key, stamp) {
				if *stamps[k], ok = leadingNumber(key[len(stamp):]); !ok {
					return delivery{}, false
				}
				found[k] = true
				n++
				break
			}
		}
	}
	return d, true
}

// numberAfter parses the JSON number that follows the first key in b. An
// integer-valued number in any JSON notation (1e3, 1000.0) is accepted.
func numberAfter(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	return leadingNumber(b[i+len(key):])
}

// leadingNumber parses the JSON number b starts with. Plain integers, what
// the bridge sends, are read in place; any other notation goes through
// intToken.
func leadingNumber(b []byte) (int64, bool) {
	n := 0
	for n < len(b) && (b[n] >= '0' && b[n] <= '9' || b[n] == '-' || b[n] == '+' || b[n] == '.' || b[n] == 'e' || b[n] == 'E') {
		n++
	}
	tok := b[:n]
	neg := len(tok) > 0 && tok[0] == '-'
	digits := tok
	if neg {
		digits = tok[1:]
	}
	if len(digits) == 0 || len(digits) > 18 { // 18 digits cannot overflow an int64
		return intToken(string(tok))
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return intToken(string(tok))
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// intToken parses an integer-valued JSON number.
func intToken(tok string) (int64, bool) {
	if tok == "" {
		return 0, false
	}
	if v, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// slowFrame decodes any frame in full.
func slowFrame(b []byte) (frameKind, delivery, error) {
	var f struct {
		Method string `json:"method"`
		Params struct {
			Channel string `json:"channel"`
			Offset  *int64 `json:"offset"`
			Data    struct {
				Metrics map[string]json.Number `json:"metrics"`
			} `json:"data"`
		} `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return frameOther, delivery{}, fmt.Errorf("frame is not JSON-RPC: %w", err)
	}
	switch f.Method {
	case protocol.MethodMessage:
	case protocol.MethodLagged:
		return frameLagged, delivery{channel: []byte(f.Params.Channel)}, nil
	case protocol.MethodDisconnect:
		return frameDisconnect, delivery{}, nil
	default:
		return frameOther, delivery{}, nil
	}
	d := delivery{channel: []byte(f.Params.Channel)}
	m := f.Params.Data.Metrics
	var ok [4]bool
	if f.Params.Offset != nil {
		d.offset, ok[0] = *f.Params.Offset, true
	}
	d.step, ok[1] = intToken(string(m[metricStep]))
	d.seq, ok[2] = intToken(string(m[metricSeq]))
	d.sentUS, ok[3] = intToken(string(m[metricSent]))
	if ok != [4]bool{true, true, true, true} {
		return frameMessage, d, errNoStamp
	}
	return frameMessage, d, nil
}
