package devices

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Reading is one device's normalised status, as READINGS.md defines it.
//
// A Reading carries only what the message said: a metric that is absent is
// not emitted, and Online is nil when the message said nothing about
// availability. The bridge merges Readings into the device's latest state.
type Reading struct {
	// Device is the id as the family defines it. It may contain '/', spaces
	// and unicode; it is data, never a routing key.
	Device string `json:"device"`
	// Family is the id of the handler that decoded the message.
	Family string `json:"family"`
	// Online is set only when the message is an availability signal.
	Online *bool `json:"online,omitempty"`
	// TS is the device's own time when the payload has one, else ReceivedAt.
	TS time.Time `json:"ts"`
	// ReceivedAt is when the bridge received the MQTT message.
	ReceivedAt time.Time `json:"received_at"`
	// Metrics holds canonical metric names (READINGS.md) mapped to float64
	// or bool values. Values are always finite.
	Metrics map[string]any `json:"metrics,omitempty"`
	// Attrs keeps string facts (model, firmware, ip, ...).
	Attrs map[string]string `json:"attrs,omitempty"`
	// Tags come from configuration or from the family.
	Tags map[string]string `json:"tags,omitempty"`
	// Stale is true when nothing was heard for longer than the device's
	// stale interval. Decoders never set it; the bridge does.
	Stale bool `json:"stale"`
}

// Message is one MQTT message as the bridge received it. Handlers must not
// retain or modify Payload after Decode returns.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	// Duplicate is the MQTT DUP flag: the broker may have delivered this
	// QoS 1 message before ([MQTT-3.3.1-1]).
	Duplicate  bool
	ReceivedAt time.Time
}

// Handler decodes one device family's MQTT messages into Readings.
//
// Decode must be pure: no I/O, no blocking, safe for concurrent use. It
// returns an error wrapping ErrIgnored for a valid message that is not device
// status (discovery config, bridge log, command echo), and a *DecodeError for
// a message it rejects.
type Handler interface {
	// Family is the handler's id: lower-case [a-z0-9_], at most 64 bytes.
	// It becomes a metric label and appears in every Reading.
	Family() string
	// DefaultBase is the base topic the family uses out of the box, e.g.
	// "zigbee2mqtt". It may be empty when the family has no common prefix.
	DefaultBase() string
	// Filters returns the MQTT topic filters to subscribe under base.
	Filters(base string) []string
	// Decode turns one message received under base into zero or more Readings.
	Decode(base string, m Message) ([]Reading, error)
}

// Sampler is implemented by families that can produce realistic traffic in
// their own wire format. The simulator and round-trip tests use it.
type Sampler interface {
	// Availability returns the message that announces device online or
	// offline (the birth message, and the LWT when online is false); ok is
	// false when the family has no availability signal.
	Availability(base, device string, online bool) (m Message, ok bool)
	// Sample returns one round of telemetry for device at time now. Values
	// come from rnd so that a seeded simulator is deterministic.
	Sample(base, device string, now time.Time, rnd *rand.Rand) []Message
}

// Staler is implemented by families that know how often their devices
// report; a device silent for longer than StaleAfter is marked stale.
type Staler interface {
	StaleAfter() time.Duration
}

// Sequential is implemented by families whose decoding of one message
// depends on earlier messages on other topics of the same source: a
// Sparkplug birth names the aliases its data uses, a Home Assistant
// discovery config or Homie attribute says how to read a state topic. The
// bridge decodes every message of such a source in arrival order; the
// messages of other families only keep their order per topic, so they can
// be decoded in parallel.
type Sequential interface {
	Sequential()
}

// ErrIgnored marks a valid message that carries no device status.
var ErrIgnored = errors.New("devices: ignored")

// Reject reasons. They are metric label values: keep the set small and fixed.
const (
	ReasonInvalidJSON      = "invalid_json"
	ReasonInvalidUTF8      = "invalid_utf8"
	ReasonTooLarge         = "too_large"
	ReasonTooDeep          = "too_deep"
	ReasonInvalidNumber    = "invalid_number"
	ReasonInvalidPayload   = "invalid_payload"
	ReasonInvalidTopic     = "invalid_topic"
	ReasonIdentityMismatch = "identity_mismatch"
	ReasonNoHandler        = "no_handler"
)

// DecodeError is returned by Decode for a message it rejects.
type DecodeError struct {
	Reason string // one of the Reason constants
	Err    error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("devices: %s: %v", e.Reason, e.Err) }
func (e *DecodeError) Unwrap() error { return e.Err }

// Reject builds a *DecodeError.
func Reject(reason string, format string, args ...any) error {
	return &DecodeError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Verdict classifies the result of Decode: "decoded", "ignored" or
// "rejected", plus the reject reason.
func Verdict(err error) (verdict, reason string) {
	if err == nil {
		return "decoded", ""
	}
	if errors.Is(err, ErrIgnored) {
		return "ignored", ""
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return "rejected", de.Reason
	}
	return "rejected", ReasonInvalidPayload
}

// Commander is implemented by families whose devices accept commands
// (PROTOCOL.md "command"). Command encodes one dashboard command into the
// MQTT message the family documents; args is the command's raw JSON
// arguments (may be empty). It must be pure, like Decode.
type Commander interface {
	Command(base, device, name string, args []byte) (Message, error)
}

// StateCommander is implemented by families that need what the bridge
// knows of a device to encode a command: which generation a Shelly speaks,
// which ESPHome switch is its main one. The bridge prefers it to
// Commander when both are implemented.
type StateCommander interface {
	CommandWithState(base string, state DeviceState, name string, args []byte) (Message, error)
}

// DeviceState is what the bridge knows of a device when a command is
// encoded. It is a copy the family may read but must not keep.
type DeviceState struct {
	// Reading is the device's merged latest state.
	Reading Reading
	// Topics are the distinct topics the device was last heard on, newest
	// first (at most a few).
	Topics []string
}
