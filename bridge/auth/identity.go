package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MonitorChannel is the admin-only channel of raw MQTT traffic.
const MonitorChannel = "monitor"

// Identity is what a verified token says about its holder.
type Identity struct {
	// User is the token's sub.
	User string
	// Tenant scopes every channel of the session.
	Tenant string
	// Expires is the token's exp, in UTC.
	Expires time.Time
	// Admin allows the monitor channel.
	Admin bool
	// Chan, Pub and Cmd are the permission patterns; Chan holds the defaults
	// when the token had no chan claim.
	Chan, Pub, Cmd []string
	// ID is the token's jti, empty when it has none; an admin can revoke
	// a token by it (POST /api/v1/revoke).
	ID string
}

// DefaultChan returns the channel patterns of a token without a chan claim.
func DefaultChan(user string) []string {
	return []string{"devices", "device:*", "tag:*", "user:" + user}
}

// CanSubscribe reports whether the identity may subscribe to channel (a name
// inside its tenant). The monitor channel is open to admins only, whatever
// the chan patterns say.
func (id *Identity) CanSubscribe(channel string) bool {
	if channel == MonitorChannel {
		return id.Admin
	}
	return matchAny(id.Chan, channel)
}

// CanPublish reports whether the identity may publish to channel.
func (id *Identity) CanPublish(channel string) bool {
	if channel == MonitorChannel {
		// monitor carries what the bridge saw; nobody may forge entries.
		return false
	}
	return matchAny(id.Pub, channel)
}

// CanCommand reports whether the identity may send a command to device.
func (id *Identity) CanCommand(device string) bool {
	return matchAny(id.Cmd, device)
}

// Match reports whether name matches pattern: a pattern ending in `*` matches
// every name that starts with the part before the `*` (so `*` alone matches
// everything); any other pattern matches only itself.
func Match(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// checkPattern rejects patterns whose meaning would be surprising: empty, or
// with a `*` anywhere but at the end (it would match only a literal `*`).
func checkPattern(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return fmt.Errorf("'*' is allowed only as the last character of %q", p)
	}
	return nil
}
