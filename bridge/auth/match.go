package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqlive/mqlive/bridge/wire"
)

// Permission patterns (the chan, pub and cmd claims) are matched on one
// canonical form: the channel name as the bridge itself writes it, with
// device ids, tag keys and tag values escaped by wire.EscapeID. A cmd
// pattern is written like the part of a device channel after "device:"
// (cmd "living%20room" and chan "device:living%20room" name the same
// device); CanCommand escapes the device id before matching. Patterns that
// are not canonical (a raw space, "%41" for "A", a dangling "%2") are
// refused when the token is verified, so a pattern can never match through
// an alternative spelling.
//
// A pattern is one of three forms:
//
//   - exact: no `*`; matches only itself.
//   - segment: ends in `*` right after a separator (`:`, `/` or `=`), or is
//     `*` alone; matches every name that starts with the part before the
//     `*` and goes on with at least one more byte. The match always starts
//     at a segment boundary: `device:kitchen/*` matches `device:kitchen/x`
//     (and `device:kitchen/x/y`) but neither `device:kitchen_freezer` nor
//     `device:kitchen` itself.
//   - prefix: ends in `*` after any other character; a plain string prefix.
//     This is a deliberate choice, kept for the tokens already issued:
//     `device:kitchen*` matches `device:kitchen`, `device:kitchen_freezer`
//     and `device:kitchen/x`. Write `device:kitchen` plus
//     `device:kitchen/*` to grant a device and the ones below it only.
//
// `*` anywhere but at the end is refused.

// separators end a segment of a channel name: the kind, the path segments
// of a device id, and a tag's key.
const separators = ":/="

// Match reports whether name (a canonical channel name, or an escaped
// device id for cmd patterns) matches pattern, in the forms described
// above.
func Match(pattern, name string) bool {
	prefix, ok := strings.CutSuffix(pattern, "*")
	if !ok {
		return pattern == name
	}
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	if prefix == "" || strings.IndexByte(separators, prefix[len(prefix)-1]) >= 0 {
		return len(name) > len(prefix) // segment form: at least one more byte
	}
	return true
}

// CanonicalChannel returns the canonical spelling of a parsed channel: the
// name the bridge uses for it. It differs from ch.Name only when a device
// id or tag is escaped in an unusual way ("device:%6Bitchen" for
// "device:kitchen"); such names are refused, never matched.
func CanonicalChannel(ch wire.Channel) string {
	switch ch.Kind {
	case wire.KindDevice:
		return wire.DeviceChannel(wire.UnescapeID(ch.Arg))
	case wire.KindTag:
		return wire.TagChannel(wire.UnescapeID(ch.TagKey), wire.UnescapeID(ch.TagValue))
	}
	return ch.Name
}

// canonicalID reports whether s is an id as wire.EscapeID writes it.
func canonicalID(s string) bool { return wire.EscapeID(wire.UnescapeID(s)) == s }

// checkPattern rejects patterns whose meaning would be surprising: empty,
// with a `*` anywhere but at the end, or not in the canonical form. cmd
// patterns (device true) are escaped device ids; the others are channel
// names.
func checkPattern(p string, device bool) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return fmt.Errorf("'*' is allowed only as the last character of %q", p)
	}
	lit := strings.TrimSuffix(p, "*")
	if device {
		if !canonicalID(lit) {
			return fmt.Errorf("%q is not an escaped device id; write it as in a channel name: %q", p, wire.EscapeID(wire.UnescapeID(lit))+p[len(lit):])
		}
		return nil
	}
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c <= 0x20 || c >= 0x7f || c == '#' || c == '+' {
			return fmt.Errorf("%q has a byte no channel name has (only printable ASCII without whitespace, '#' or '+')", p)
		}
	}
	kind, arg, _ := strings.Cut(lit, ":")
	var parts []string
	switch kind {
	case string(wire.KindDevice):
		parts = []string{arg}
	case string(wire.KindTag):
		k, v, _ := strings.Cut(arg, "=")
		parts = []string{k, v}
	}
	for _, part := range parts {
		if !canonicalID(part) {
			return fmt.Errorf("%q escapes a device id or tag differently from the bridge (wire.EscapeID: upper-case hex, only where needed)", p)
		}
	}
	return nil
}
