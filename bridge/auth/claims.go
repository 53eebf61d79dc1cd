package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mqlive/mqlive/bridge/internal/jsonscan"
)

// DefaultMaxLifetime is the default cap on a token's lifetime (exp - iat):
// a sign-out is kept that long, and the dev token lives exactly that long.
const DefaultMaxLifetime = 24 * time.Hour

// MaxSubjectBytes bounds `sub` so that the default `user:<sub>` channel fits
// the protocol's 200-byte channel name limit.
const MaxSubjectBytes = 195

// Claims is the payload of an mqlive token (PROTOCOL.md "Tokens (JWT)").
// sub, tenant and exp are required (and iat when the verifier caps the
// token lifetime); the permission lists are patterns in the canonical form
// described in match.go.
type Claims struct {
	jwt.RegisteredClaims
	// Tenant scopes every channel the client sees. Required, [a-z0-9_-]{1,64}.
	Tenant string `json:"tenant"`
	// Chan lists channel patterns the client may subscribe to. Absent (nil)
	// means the default: devices, device:*, tag:*, user:<sub>. Present but
	// empty means none.
	Chan []string `json:"chan,omitempty"`
	// Pub lists channel patterns the client may publish to; default none.
	Pub []string `json:"pub,omitempty"`
	// Cmd lists device patterns the client may send commands to; default none.
	Cmd []string `json:"cmd,omitempty"`
	// Admin allows the monitor channel, and nothing else.
	Admin bool `json:"admin,omitempty"`
	// API lists the admin HTTP API operations the token may call:
	// "publish", "signout", "revoke", "nodes". Default none.
	API []string `json:"api,omitempty"`
}

// errBadClaim marks a failure of mqlive's own claim checks, so that Verify can
// tell "expired and otherwise fine" from "expired and also malformed".
var errBadClaim = errors.New("bad claim")

// Validate checks the mqlive-specific claims: sub, tenant and the permission
// patterns. The JWT library calls it during verification, after the
// signature has been checked; exp, nbf, iss and aud are checked by the
// library itself.
func (c Claims) Validate() error {
	var errs []error
	switch {
	case c.Subject == "":
		errs = append(errs, fmt.Errorf("%w: sub is required", errBadClaim))
	case len(c.Subject) > MaxSubjectBytes:
		errs = append(errs, fmt.Errorf("%w: sub is longer than %d bytes", errBadClaim, MaxSubjectBytes))
	case strings.ContainsRune(c.Subject, '*'):
		// The default pattern user:<sub> would otherwise become a wildcard
		// over other users' channels.
		errs = append(errs, fmt.Errorf("%w: sub must not contain '*'", errBadClaim))
	}
	if c.Tenant == "" {
		errs = append(errs, fmt.Errorf("%w: tenant is required", errBadClaim))
	} else if !ValidTenant(c.Tenant) {
		errs = append(errs, fmt.Errorf("%w: tenant %q is not 1-64 characters of [a-z0-9_-]", errBadClaim, c.Tenant))
	}
	for _, l := range []struct {
		name     string
		patterns []string
	}{{"chan", c.Chan}, {"pub", c.Pub}, {"cmd", c.Cmd}} {
		for i, p := range l.patterns {
			if err := checkPattern(p, l.name == "cmd"); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s[%d]: %v", errBadClaim, l.name, i, err))
			}
		}
	}
	for i, op := range c.API {
		if !slices.Contains(APIOperations, op) {
			errs = append(errs, fmt.Errorf("%w: api[%d]: %q is not one of %s", errBadClaim, i, op, strings.Join(APIOperations, ", ")))
		}
	}
	return errors.Join(errs...)
}

// DevClaims returns the claims of a development token: an admin of tenant
// that may subscribe to the default channels and monitor, publish to any
// app:* channel, command any device and call the whole admin HTTP API,
// issued now and valid for ttl. The caller
// sets Issuer and Audience when the verifier checks them.
func DevClaims(user, tenant string, ttl time.Duration) Claims {
	now := time.Now()
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Tenant: tenant,
		Pub:    []string{"app:*"},
		Cmd:    []string{"*"},
		Admin:  true,
		API:    slices.Clone(APIOperations),
	}
}

// claimsFields is Claims without its methods, for encoding/json.
type claimsFields = Claims

// UnmarshalJSON reads the claims of a token as encoding/json reads them
// into Claims by reflection (it is what the JWT library calls), with a
// fast path for the claims mqlive tokens carry: sub, tenant, iss, jti,
// exp, iat, nbf, chan, pub, cmd, api and admin, each once, strings
// without escapes (jsonscan). Decoding the claims by reflection was 5% of
// the server's CPU while W3's sockets connected (issue 10). Anything else
// (aud, other members, escapes, null) goes through encoding/json;
// FuzzClaimsUnmarshalJSON holds both paths equal.
func (c *Claims) UnmarshalJSON(b []byte) error {
	if out, ok := decodeClaimsFast(b, *c); ok {
		*c = out
		return nil
	}
	// Claims named again, without this method: the same decoding, and the
	// same type name in its errors, as before there was one.
	type Claims claimsFields
	return json.Unmarshal(b, (*Claims)(c))
}

// decodeClaimsFast is UnmarshalJSON's fast path: c with the members of b
// set, as encoding/json sets them over what c holds; ok is false for
// anything it cannot read exactly as encoding/json would.
func decodeClaimsFast(b []byte, c Claims) (_ Claims, ok bool) {
	var seen uint32
	date := func(s *jsonscan.Scanner, dst **jwt.NumericDate) bool {
		var f float64
		if !s.Float(&f) {
			return false
		}
		// jwt.NumericDate's UnmarshalJSON without its second decoding of
		// the number: whole seconds and the fraction in nanoseconds,
		// truncated to the library's precision (the fuzz test holds
		// the two equal).
		sec, frac := math.Modf(f)
		*dst = jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
		return true
	}
	ok = jsonscan.Object(b, func(key []byte, s *jsonscan.Scanner) bool {
		switch string(key) {
		case "sub":
			return jsonscan.Once(&seen, 1<<0) && s.Str(&c.Subject)
		case "tenant":
			return jsonscan.Once(&seen, 1<<1) && s.Str(&c.Tenant)
		case "iss":
			return jsonscan.Once(&seen, 1<<2) && s.Str(&c.Issuer)
		case "jti":
			return jsonscan.Once(&seen, 1<<3) && s.Str(&c.ID)
		case "exp":
			return jsonscan.Once(&seen, 1<<4) && date(s, &c.ExpiresAt)
		case "iat":
			return jsonscan.Once(&seen, 1<<5) && date(s, &c.IssuedAt)
		case "nbf":
			return jsonscan.Once(&seen, 1<<6) && date(s, &c.NotBefore)
		case "chan":
			return jsonscan.Once(&seen, 1<<7) && s.Strings(&c.Chan)
		case "pub":
			return jsonscan.Once(&seen, 1<<8) && s.Strings(&c.Pub)
		case "cmd":
			return jsonscan.Once(&seen, 1<<9) && s.Strings(&c.Cmd)
		case "api":
			return jsonscan.Once(&seen, 1<<10) && s.Strings(&c.API)
		case "admin":
			return jsonscan.Once(&seen, 1<<11) && s.Bool(&c.Admin)
		}
		return false
	})
	return c, ok
}
