package devices

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDeviceIDLen is the longest device id a Reading may carry, in bytes.
// A device id is a channel name, a Valkey key part and a dashboard label;
// no family's ids come near it (a Zigbee2MQTT friendly name with a path is
// a few dozen bytes).
const MaxDeviceIDLen = 256

// Device-id reject reasons (CheckDeviceID). They are metric label values,
// a fixed set beside the other Reason constants: a rejected id itself never
// becomes a label.
const (
	ReasonDeviceIDEmptyLevel  = "device_id_empty_level"
	ReasonDeviceIDDotLevel    = "device_id_dot_level"
	ReasonDeviceIDControl     = "device_id_control_char"
	ReasonDeviceIDPlaceholder = "device_id_placeholder"
	ReasonDeviceIDTooLong     = "device_id_too_long"
)

// DeviceIDReason reports whether reason is one of CheckDeviceID's. The
// topic of a message refused for one of them is shown escaped (log lines,
// the admin monitor): it carries the refused id.
func DeviceIDReason(reason string) bool {
	switch reason {
	case ReasonDeviceIDEmptyLevel, ReasonDeviceIDDotLevel, ReasonDeviceIDControl,
		ReasonDeviceIDPlaceholder, ReasonDeviceIDTooLong:
		return true
	}
	return false
}

// CheckDeviceID reports whether id can be a device id, and returns a
// *DecodeError with one of the ReasonDeviceID… reasons (or
// ReasonInvalidUTF8) when it cannot. Device ids are derived from topics, so
// a misconfigured device or a hostile client chooses them; an id is refused
// when it
//
//   - is empty or has an empty level ("a//b", "/a", "a/"): a device that
//     published under an empty %topic% or a doubled separator;
//   - has a "." or ".." level, which reads as a path step in URLs, files
//     and dashboards' breadcrumbs;
//   - contains a control character (C0, DEL, C1), a line or paragraph
//     separator, or a bidirectional embedding, override or isolate
//     character, any of which can forge a log line or make one id look
//     like another on a dashboard;
//   - contains an unexpanded placeholder: "%topic%", "%prefix%",
//     "%hostname%", "%id%" (Tasmota, any %name%), Tasmota's "%06X",
//     "${name}" (an ESPHome substitution) or "{{" (a Jinja template):
//     the device was flashed or configured with a template that never
//     expanded, and all such devices would merge into one;
//   - is longer than MaxDeviceIDLen bytes.
//
// The error message quotes the id with %q, so it is safe in a log line.
func CheckDeviceID(id string) error {
	if len(id) > MaxDeviceIDLen {
		return Reject(ReasonDeviceIDTooLong, "device id of %d bytes is longer than %d", len(id), MaxDeviceIDLen)
	}
	if !utf8.ValidString(id) {
		return Reject(ReasonInvalidUTF8, "device id %q is not valid UTF-8", id)
	}
	for i, r := range id {
		if controlRune(r) {
			return Reject(ReasonDeviceIDControl, "device id %q has control character %U at byte %d", id, r, i)
		}
	}
	for rest := id; ; {
		level, next, more := cutLevel(rest)
		switch level {
		case "":
			return Reject(ReasonDeviceIDEmptyLevel, "device id %q has an empty topic level", id)
		case ".", "..":
			return Reject(ReasonDeviceIDDotLevel, "device id %q has a %q level", id, level)
		}
		if !more {
			break
		}
		rest = next
	}
	if p := placeholder(id); p != "" {
		return Reject(ReasonDeviceIDPlaceholder, "device id %q contains the unexpanded placeholder %q", id, p)
	}
	return nil
}

// controlRune reports the runes CheckDeviceID refuses: Unicode category Cc
// (C0 controls, DEL and C1 controls), U+2028/U+2029, and the bidirectional
// formatting characters U+202A–U+202E and U+2066–U+2069 (the "Trojan
// Source" characters, CVE-2021-42574).
func controlRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// placeholder returns the first unexpanded template token in id, or "".
// A Tasmota token is '%', a letter, letters or '_', '%' ("%topic%",
// "%hostname%"); requiring a letter first keeps percent-encoded text
// ("50%25") and percentages ("20% 30%") out of it.
func placeholder(id string) string {
	for i := 0; i < len(id); i++ {
		switch id[i] {
		case '%':
			if tok := percentToken(id[i:]); tok != "" {
				return tok
			}
		case '$':
			if strings.HasPrefix(id[i:], "${") {
				if j := strings.IndexByte(id[i:], '}'); j > 2 {
					return id[i : i+j+1]
				}
			}
		case '{':
			if strings.HasPrefix(id[i:], "{{") {
				return "{{"
			}
		}
	}
	return ""
}

// percentToken returns the token at the start of s ("%topic%", "%06X"),
// or "" when s does not start with one.
func percentToken(s string) string {
	// Tasmota's default Topic "tasmota_%06X" is a printf format expanded
	// with the chip id; unexpanded it is "%06X".
	if len(s) >= 4 && s[1] == '0' && s[2] >= '1' && s[2] <= '9' && (s[3] == 'X' || s[3] == 'x') {
		return s[:4]
	}
	if len(s) < 3 || !isLetter(s[1]) {
		return ""
	}
	for j := 2; j < len(s) && j <= 32; j++ {
		c := s[j]
		switch {
		case c == '%':
			return s[:j+1]
		case isLetter(c) || c == '_':
		default:
			return ""
		}
	}
	return ""
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Decode decodes m with h below base and checks the device id of every
// Reading with CheckDeviceID: one bad id refuses the whole message, so a
// refused id never reaches the state, a dashboard or a metric label. The
// bridge decodes every message through it (the routing layer's one entry
// into the families), which applies the same hygiene to every family
// without each of them repeating it.
func Decode(h Handler, base string, m Message) ([]Reading, error) {
	rs, err := h.Decode(base, m)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if err := CheckDeviceID(rs[i].Device); err != nil {
			return nil, err
		}
	}
	return rs, nil
}
