package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// testNow is the fixed clock of every verifier in these tests.
var testNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// keyPair is a generated key with its PEM encodings.
type keyPair struct {
	priv    crypto.Signer
	pubPEM  []byte
	privPEM []byte
}

// RSA generation is slow; every test shares one key per type.
var testKeys = sync.OnceValue(func() map[string]keyPair {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, edk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	out := map[string]keyPair{}
	for alg, k := range map[string]crypto.Signer{"RS256": rk, "ES256": ek, "EdDSA": edk} {
		pub, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			panic(err)
		}
		priv, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		out[alg] = keyPair{
			priv:    k,
			pubPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
			privPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}),
		}
	}
	return out
})

// goodClaims are valid at testNow.
func goodClaims() Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "alice",
			IssuedAt:  jwt.NewNumericDate(testNow.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Hour)),
		},
		Tenant: "acme",
	}
}

func hmacVerifier(t *testing.T, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewHMAC(testSecret, append([]Option{WithClock(func() time.Time { return testNow })}, opts...)...)
	require.NoError(t, err)
	return v
}

func signHMAC(t *testing.T, c Claims) string {
	t.Helper()
	tok, err := NewHMACSigner(testSecret).Sign(c)
	require.NoError(t, err)
	return tok
}
