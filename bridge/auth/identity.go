package auth

import (
	"slices"
	"time"

	"github.com/mqlive/mqlive/bridge/wire"
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
	// IssuedAt is the token's iat, zero when it has none. A sign-out
	// refuses the user's tokens issued before it.
	IssuedAt time.Time
	// API lists the admin HTTP API operations the token may call (the api
	// claim); Admin does not imply any.
	API []string
}

// Admin HTTP API operations, the values of the api claim.
const (
	APIPublish = "publish"
	APISignOut = "signout"
	APIRevoke  = "revoke"
	APINodes   = "nodes"
)

// APIOperations lists every admin HTTP API operation.
var APIOperations = []string{APIPublish, APISignOut, APIRevoke, APINodes}

// CanAPI reports whether the identity may call the admin HTTP API operation
// op (one of APIOperations).
func (id *Identity) CanAPI(op string) bool { return slices.Contains(id.API, op) }

// DefaultChan returns the channel patterns of a token without a chan claim.
func DefaultChan(user string) []string {
	return []string{"devices", "device:*", "tag:*", "user:" + user}
}

// CanSubscribe reports whether the identity may subscribe to channel (a name
// inside its tenant). The monitor channel is open to admins only, whatever
// the chan patterns say. A name that is not valid or not canonical
// (CanonicalChannel) is never allowed.
func (id *Identity) CanSubscribe(channel string) bool {
	if channel == MonitorChannel {
		return id.Admin
	}
	return canonical(channel) && matchAny(id.Chan, channel)
}

// CanPublish reports whether the identity may publish to channel.
func (id *Identity) CanPublish(channel string) bool {
	if channel == MonitorChannel {
		// monitor carries what the bridge saw; nobody may forge entries.
		return false
	}
	return canonical(channel) && matchAny(id.Pub, channel)
}

// CanCommand reports whether the identity may send a command to device (a
// device id as the device reports it): the cmd patterns are matched on the
// escaped id, as in the device's channel name.
func (id *Identity) CanCommand(device string) bool {
	return device != "" && matchAny(id.Cmd, wire.EscapeID(device))
}

func canonical(channel string) bool {
	ch, err := wire.ParseChannel(channel)
	return err == nil && CanonicalChannel(ch) == channel
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// SignedOutBy reports whether a sign-out at t refuses this token: it has no
// iat, or was issued in t's second or before (iat has whole-second
// precision, so a token of the same second may predate the sign-out; the
// holder gets a new one a second later). A zero t refuses nothing.
func (id *Identity) SignedOutBy(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	return id.IssuedAt.IsZero() || id.IssuedAt.Unix() <= t.Unix()
}
