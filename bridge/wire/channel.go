package wire

import (
	"errors"
	"strings"
)

// MaxChannelLen is the longest channel name in bytes (PROTOCOL.md "Channels").
const MaxChannelLen = 200

// Kind is the kind of a channel, the part before the first ':'.
type Kind string

// Channel kinds.
const (
	KindDevices Kind = "devices"
	KindDevice  Kind = "device"
	KindTag     Kind = "tag"
	KindUser    Kind = "user"
	KindApp     Kind = "app"
	KindMonitor Kind = "monitor"
)

// Channel is a parsed channel name.
type Channel struct {
	Name string // the full name, e.g. "tag:site=hq"
	Kind Kind
	Arg  string // after the ':' ("" for devices and monitor)
	// TagKey and TagValue are set for KindTag.
	TagKey, TagValue string
}

// ParseChannel validates a channel name. Names are at most 200 bytes of
// printable ASCII with no whitespace, '#', '+' or NUL; the kind must be
// known and carry an argument when it needs one.
func ParseChannel(name string) (Channel, error) {
	if name == "" {
		return Channel{}, errors.New("channel: empty name")
	}
	if len(name) > MaxChannelLen {
		return Channel{}, errors.New("channel: longer than 200 bytes")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		// Printable ASCII excludes space (0x20) and DEL; '#' and '+' are
		// MQTT wildcards and never part of a channel.
		if c <= 0x20 || c >= 0x7f || c == '#' || c == '+' {
			return Channel{}, errors.New("channel: only printable ASCII without whitespace, '#' or '+'")
		}
	}
	kind, arg, hasArg := strings.Cut(name, ":")
	ch := Channel{Name: name, Kind: Kind(kind), Arg: arg}
	switch ch.Kind {
	case KindDevices, KindMonitor:
		if hasArg {
			return Channel{}, errors.New("channel: " + kind + " takes no argument")
		}
	case KindDevice, KindUser, KindApp:
		if arg == "" {
			return Channel{}, errors.New("channel: " + kind + ":<id> needs an id")
		}
	case KindTag:
		k, v, ok := strings.Cut(arg, "=")
		if !ok || k == "" || v == "" {
			return Channel{}, errors.New("channel: tag channels are tag:<key>=<value>")
		}
		ch.TagKey, ch.TagValue = k, v
	default:
		return Channel{}, errors.New("channel: unknown kind " + quoteKind(kind))
	}
	return ch, nil
}

func quoteKind(k string) string {
	if len(k) > 32 {
		k = k[:32] + "…"
	}
	return `"` + k + `"`
}

// DeviceChannel is the channel name of one device. Device ids may contain
// characters that channel names cannot (spaces, unicode); those ids are
// percent-encoded so that every id maps to exactly one valid channel.
func DeviceChannel(id string) string { return "device:" + EscapeID(id) }

// TagChannel is the channel name of one tag.
func TagChannel(key, value string) string { return "tag:" + EscapeID(key) + "=" + EscapeID(value) }

// EscapeID percent-encodes bytes that may not appear in a channel name
// (RFC 3986 style, upper-case hex), plus '%' itself, ':' is kept, '=' is
// escaped so tag keys stay unambiguous.
func EscapeID(id string) string {
	need := false
	for i := 0; i < len(id); i++ {
		if escapeByte(id[i]) {
			need = true
			break
		}
	}
	if !need {
		return id
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(id) + 8)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if escapeByte(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func escapeByte(c byte) bool {
	return c <= 0x20 || c >= 0x7f || c == '#' || c == '+' || c == '%' || c == '='
}

// UnescapeID reverses EscapeID. Malformed escapes are kept as they are.
func UnescapeID(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, lo := unhex(s[i+1]), unhex(s[i+2]); hi >= 0 && lo >= 0 {
				b = append(b, byte(hi<<4|lo))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	}
	return -1
}
