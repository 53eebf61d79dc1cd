package bridge

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mqlive/mqlive/bridge/auth"
)

// DevUser is the sub of the token printed in dev mode.
const DevUser = "dev"

// Verifier builds the token verifier the config describes: HS256 with
// JWTSecret, or the algorithm of the key in PublicKeyFile, checking Issuer
// and Audience when set, and capping the token lifetime at
// MaxTokenLifetime when it is positive.
func (a AuthConfig) Verifier() (*auth.Verifier, error) {
	opts := []auth.Option{auth.WithIssuer(a.Issuer), auth.WithAudience(a.Audience), auth.WithMaxLifetime(a.MaxTokenLifetime)}
	switch {
	case a.PublicKeyFile != "":
		pemBytes, err := os.ReadFile(a.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("auth.public_key_file: %w", err)
		}
		v, err := auth.NewFromPEM(pemBytes, opts...)
		if err != nil {
			return nil, fmt.Errorf("auth.public_key_file %s: %w", a.PublicKeyFile, err)
		}
		return v, nil
	case a.JWTSecret != "":
		v, err := auth.NewHMAC([]byte(a.JWTSecret), opts...)
		if err != nil {
			return nil, fmt.Errorf("auth.jwt_secret: %w", err)
		}
		return v, nil
	default:
		return nil, errors.New("auth: no jwt_secret or public_key_file; set one, or call EnsureDevSecret in dev mode")
	}
}

// DevToken signs an admin token for user in tenant, valid for ttl (at most
// MaxTokenLifetime when that is positive), with the configured issuer and
// audience, so that the Verifier of the same config accepts it. It needs
// JWTSecret (dev mode generates one).
func (a AuthConfig) DevToken(user, tenant string, ttl time.Duration) (string, error) {
	if a.JWTSecret == "" {
		return "", errors.New("auth: dev token needs auth.jwt_secret; a public key cannot sign")
	}
	if a.MaxTokenLifetime > 0 {
		ttl = min(ttl, a.MaxTokenLifetime)
	}
	c := auth.DevClaims(user, tenant, ttl)
	c.Issuer = a.Issuer
	if a.Audience != "" {
		c.Audience = []string{a.Audience}
	}
	return auth.NewHMACSigner([]byte(a.JWTSecret)).Sign(c)
}

// Redacted returns a copy safe to log: the JWT secret, the MQTT password and
// any password in the MQTT URL are replaced by "REDACTED".
func (c Config) Redacted() Config {
	if c.Auth.JWTSecret != "" {
		c.Auth.JWTSecret = "REDACTED"
	}
	if c.MQTT.Password != "" {
		c.MQTT.Password = "REDACTED"
	}
	c.MQTT.URL = redactURL(c.MQTT.URL)
	c.Webhooks = redactWebhooks(c.Webhooks)
	return c
}
