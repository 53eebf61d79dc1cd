package devices

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Topic rules of MQTT 3.1.1 §4.7 and MQTT 5.0 §4.7, which agree on
// everything used here. Clause ids are given as [MQTT-x.y.z-n].

// maxTopicLen is the largest UTF-8 encoded string MQTT can carry: a 16-bit
// length prefix ([MQTT-1.5.3], §1.5.4 in MQTT 5).
const maxTopicLen = 65535

// ValidFilter reports whether f is a well-formed topic filter.
//
//   - at least one character [MQTT-4.7.3-1];
//   - valid UTF-8 [MQTT-1.5.3-1] without U+0000 [MQTT-1.5.3-2];
//   - '#' only as a whole level and only as the last level [MQTT-4.7.1-2];
//   - '+' only as a whole level [MQTT-4.7.1-3].
//
// Empty levels ("a//b", "/a") are valid (§4.7.1.1, non-normative).
func ValidFilter(f string) error {
	if err := validString("topic filter", f); err != nil {
		return err
	}
	for rest := f; ; {
		level, r, more := cutLevel(rest)
		if strings.ContainsRune(level, '#') {
			if level != "#" || more {
				return fmt.Errorf("topic filter %q: '#' must be the whole last level [MQTT-4.7.1-2]", f)
			}
		}
		if strings.ContainsRune(level, '+') && level != "+" {
			return fmt.Errorf("topic filter %q: '+' must occupy a whole level [MQTT-4.7.1-3]", f)
		}
		if !more {
			return nil
		}
		rest = r
	}
}

// ValidTopic reports whether t is a well-formed topic name: the rules of
// ValidFilter, and no wildcard characters at all [MQTT-4.7.1-1] (MQTT 5:
// [MQTT-3.3.2-2]).
func ValidTopic(t string) error {
	if err := validString("topic name", t); err != nil {
		return err
	}
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("topic name %q: wildcards are not allowed in a topic name [MQTT-4.7.1-1]", t)
	}
	return nil
}

// ValidBase reports whether base can prefix a family's topics: empty (no
// prefix), or a topic name that does not end with '/' (the separator is
// added by JoinBase).
func ValidBase(base string) error {
	if base == "" {
		return nil
	}
	if err := ValidTopic(base); err != nil {
		return fmt.Errorf("base: %w", err)
	}
	if strings.HasSuffix(base, "/") {
		return fmt.Errorf("base %q must not end with '/'", base)
	}
	return nil
}

func validString(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty [MQTT-4.7.3-1]", what)
	case len(s) > maxTopicLen:
		return fmt.Errorf("%s is %d bytes, longer than %d [MQTT-1.5.3]", what, len(s), maxTopicLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q is not valid UTF-8 [MQTT-1.5.3-1]", what, s)
	case strings.IndexByte(s, 0) >= 0:
		return errors.New(what + " contains U+0000 [MQTT-1.5.3-2]")
	}
	return nil
}

// cutLevel splits the first level off a topic or filter. more reports
// whether a '/' followed (so rest holds at least one, possibly empty, level).
func cutLevel(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func isWildcard(level string) bool { return level == "+" || level == "#" }

// Match reports whether topic matches filter. An invalid filter or topic
// matches nothing.
//
// A filter whose first level is a wildcard does not match a topic that
// starts with '$' [MQTT-4.7.2-1]; "a/#" also matches "a" (§4.7.1.2).
func Match(filter, topic string) bool {
	if ValidFilter(filter) != nil || ValidTopic(topic) != nil {
		return false
	}
	return match(filter, topic)
}

// match is Match for inputs already known to be valid.
func match(f, t string) bool {
	if t[0] == '$' && (f[0] == '+' || f[0] == '#') {
		return false // [MQTT-4.7.2-1]
	}
	for {
		fl, frest, fmore := cutLevel(f)
		if fl == "#" {
			return true
		}
		tl, trest, tmore := cutLevel(t)
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "sport/tennis/#" matches "sport/tennis" (§4.7.1.2).
			return frest == "#"
		case !fmore:
			return false
		}
		f, t = frest, trest
	}
}

// Overlap reports whether some topic name matches both filters. Invalid
// filters overlap nothing. Two sources whose filters overlap would both
// claim the same message, so the Router refuses them.
func Overlap(a, b string) bool {
	if ValidFilter(a) != nil || ValidFilter(b) != nil {
		return false
	}
	for first := true; ; first = false {
		al, arest, amore := cutLevel(a)
		bl, brest, bmore := cutLevel(b)
		if first {
			// A wildcard first level never matches a '$' topic, which is
			// the only kind a literal "$…" first level matches
			// [MQTT-4.7.2-1].
			if (isWildcard(al) && strings.HasPrefix(bl, "$")) || (isWildcard(bl) && strings.HasPrefix(al, "$")) {
				return false
			}
		}
		if al == "#" || bl == "#" {
			return true
		}
		if al != "+" && bl != "+" && al != bl {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			// The shared topic is the levels so far; at the first level an
			// empty literal would make it "", which is no topic
			// [MQTT-4.7.3-1].
			return brest == "#" && !(first && (al == "" || bl == ""))
		case !bmore:
			return arest == "#" && !(first && (al == "" || bl == ""))
		}
		a, b = arest, brest
	}
}

// TrimBase returns the part of topic below base. An empty base is no
// prefix: rest is the whole topic. ok is false when topic is not strictly
// below base ("a/b" is not below "a/b"; "a/bc" is not below "a/b").
func TrimBase(base, topic string) (rest string, ok bool) {
	if base == "" {
		return topic, topic != ""
	}
	if len(topic) <= len(base) || topic[len(base)] != '/' || topic[:len(base)] != base {
		return "", false
	}
	return topic[len(base)+1:], true
}

// JoinBase puts rel (a topic or filter relative to base) under base.
func JoinBase(base, rel string) string {
	if base == "" {
		return rel
	}
	return base + "/" + rel
}
