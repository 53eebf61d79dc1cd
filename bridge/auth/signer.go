package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Signer mints tokens. The bridge itself only uses it in dev mode, to print a
// dashboard URL with a ready token; tests use it to make tokens of any shape.
type Signer struct {
	method jwt.SigningMethod
	key    any
}

// NewHMACSigner returns a Signer for HS256 tokens. The secret is copied; Sign
// fails when it is shorter than MinHMACSecretBytes, since no Verifier would
// accept the result.
func NewHMACSigner(secret []byte) *Signer {
	return &Signer{method: jwt.SigningMethodHS256, key: slices.Clone(secret)}
}

// NewSignerFromPEM returns a Signer for the private key in pemBytes ("PRIVATE
// KEY" PKCS #8, "RSA PRIVATE KEY" PKCS #1 or "EC PRIVATE KEY" SEC 1), with the
// algorithm NewFromPEM pins for the matching public key.
func NewSignerFromPEM(pemBytes []byte) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("auth: no PEM block found in private key")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("auth: PEM block type %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: parse %s: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &Signer{method: jwt.SigningMethodRS256, key: k}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: ECDSA key on curve %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return &Signer{method: jwt.SigningMethodES256, key: k}, nil
	case ed25519.PrivateKey:
		return &Signer{method: jwt.SigningMethodEdDSA, key: k}, nil
	default:
		return nil, fmt.Errorf("auth: unsupported private key type %T", key)
	}
}

// Algorithm returns the JWS algorithm of the tokens the Signer makes.
func (s *Signer) Algorithm() string { return s.method.Alg() }

// Sign returns the compact serialisation of a token carrying c. It does not
// check the claims (tests use it to make bad tokens); Verify does.
func (s *Signer) Sign(c Claims) (string, error) {
	if b, ok := s.key.([]byte); ok && len(b) < MinHMACSecretBytes {
		return "", fmt.Errorf("auth: HS256 secret is %d bytes; use at least %d", len(b), MinHMACSecretBytes)
	}
	tok, err := jwt.NewWithClaims(s.method, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return tok, nil
}
