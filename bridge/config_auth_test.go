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
