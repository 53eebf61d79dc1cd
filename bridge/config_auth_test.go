package bridge

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
)

func TestAuthConfigVerifierHMAC(t *testing.T) {
	a := AuthConfig{JWTSecret: "0123456789abcdef0123456789abcdef", Issuer: "mqlive-test", Audience: "dash"}
	v, err := a.Verifier()
	require.NoError(t, err)
	require.Equal(t, "HS256", v.Algorithm())

	tok, err := a.DevToken(DevUser, DefaultTenant, time.Hour)
	require.NoError(t, err)
	id, err := v.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "dev", id.User)
	require.Equal(t, "default", id.Tenant)
	require.True(t, id.CanSubscribe("monitor"))

	// A verifier with another audience refuses the token.
	other := a
	other.Audience = "elsewhere"
	v2, err := other.Verifier()
	require.NoError(t, err)
	_, err = v2.Verify(tok)
	require.ErrorIs(t, err, auth.ErrInvalid)
}

func TestAuthConfigVerifierPublicKey(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))

	a := AuthConfig{PublicKeyFile: path}
	v, err := a.Verifier()
	require.NoError(t, err)
	require.Equal(t, "EdDSA", v.Algorithm())
	_, err = a.DevToken("x", "default", time.Hour)
	require.ErrorContains(t, err, "public key cannot sign")

	_, err = AuthConfig{PublicKeyFile: filepath.Join(t.TempDir(), "missing.pem")}.Verifier()
	require.ErrorContains(t, err, "auth.public_key_file")

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("nope"), 0o600))
	_, err = AuthConfig{PublicKeyFile: bad}.Verifier()
	require.ErrorContains(t, err, "no PEM block")

	_, err = AuthConfig{}.Verifier()
	require.ErrorContains(t, err, "EnsureDevSecret")
}

// TestAuthConfigMaxTokenLifetime: the default config caps token lifetime
// at 24 h, the dev token fits it (and a shorter cap), and longer tokens or
// tokens without iat are refused.
func TestAuthConfigMaxTokenLifetime(t *testing.T) {
	c := DefaultConfig()
	require.Equal(t, 24*time.Hour, c.Auth.MaxTokenLifetime)
	c.Auth.JWTSecret = "0123456789abcdef0123456789abcdef"
	v, err := c.Auth.Verifier()
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour, v.MaxLifetime())
	tok, err := c.Auth.DevToken(DevUser, DefaultTenant, 24*time.Hour)
	require.NoError(t, err)
	_, err = v.Verify(tok)
	require.NoError(t, err, "the 24 h dev token fits the default cap")

	signer := auth.NewHMACSigner([]byte(c.Auth.JWTSecret))
	long := auth.DevClaims("u", "default", 25*time.Hour)
	tok, err = signer.Sign(long)
	require.NoError(t, err)
	_, err = v.Verify(tok)
	require.ErrorIs(t, err, auth.ErrInvalid)
	noIat := auth.DevClaims("u", "default", time.Hour)
	noIat.IssuedAt = nil
	tok, err = signer.Sign(noIat)
	require.NoError(t, err)
	_, err = v.Verify(tok)
	require.ErrorIs(t, err, auth.ErrInvalid)

	short := c.Auth
	short.MaxTokenLifetime = time.Hour
	v, err = short.Verifier()
	require.NoError(t, err)
	tok, err = short.DevToken(DevUser, DefaultTenant, 24*time.Hour)
	require.NoError(t, err)
	_, err = v.Verify(tok)
	require.NoError(t, err, "the dev token is cut to the cap")

	off := c.Auth
	off.MaxTokenLifetime = -1
	v, err = off.Verifier()
	require.NoError(t, err)
	require.Zero(t, v.MaxLifetime())

	c.Auth.MaxTokenLifetime = 31 * 24 * time.Hour
	require.ErrorContains(t, c.Validate(), "auth.max_token_lifetime")
}
