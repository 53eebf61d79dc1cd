package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestVerifyHS256(t *testing.T) {
	v := hmacVerifier(t)
	require.Equal(t, "HS256", v.Algorithm())
	c := goodClaims()
	c.Pub = []string{"app:chat"}
	c.Cmd = []string{"lamp-*"}
	c.Admin = true
	id, err := v.Verify(signHMAC(t, c))
	require.NoError(t, err)
	require.Equal(t, &Identity{
		User:    "alice",
		Tenant:  "acme",
		Expires: testNow.Add(time.Hour),
		Admin:   true,
		Chan:    []string{"devices", "device:*", "tag:*", "user:alice"},
		Pub:     []string{"app:chat"},
		Cmd:     []string{"lamp-*"},
		// goodClaims sets iat.
		IssuedAt: c.IssuedAt.UTC(),
	}, id)
}

func TestVerifyPublicKeyAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			kp := testKeys()[alg]
			v, err := NewFromPEM(kp.pubPEM, WithClock(func() time.Time { return testNow }))
			require.NoError(t, err)
			require.Equal(t, alg, v.Algorithm())
			s, err := NewSignerFromPEM(kp.privPEM)
			require.NoError(t, err)
			require.Equal(t, alg, s.Algorithm())
			tok, err := s.Sign(goodClaims())
			require.NoError(t, err)
			id, err := v.Verify(tok)
			require.NoError(t, err)
			require.Equal(t, "alice", id.User)
			require.Equal(t, "acme", id.Tenant)

			// The same claims signed with the shared secret must not pass:
			// the algorithm is pinned to the key.
			_, err = v.Verify(signHMAC(t, goodClaims()))
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestVerifyAcceptsOtherPublicKeyEncodings(t *testing.T) {
	rk := testKeys()["RS256"].priv.(*rsa.PrivateKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rk.PublicKey)})
	v, err := NewFromPEM(pkcs1)
	require.NoError(t, err)
	require.Equal(t, "RS256", v.Algorithm())

	rsaSigner := &Signer{method: jwt.SigningMethodRS256, key: rk}
	tok, err := rsaSigner.Sign(DevClaims("bob", "default", time.Minute))
	require.NoError(t, err)
	id, err := v.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "bob", id.User)
}

func TestNewFromPEMRejects(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		pem  []byte
		want string
	}{
		"empty":       {nil, "no PEM block"},
		"garbage":     {[]byte("not a key"), "no PEM block"},
		"private key": {testKeys()["ES256"].privPEM, "give the bridge only the public key"},
		"bad der":     {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), "parse PUBLIC KEY"},
		"other type":  {pem.EncodeToMemory(&pem.Block{Type: "FOO", Bytes: []byte{1}}), `"FOO" is not a public key`},
		"rsa 1024":    {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER}), "use at least 2048"},
		"p384":        {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER}), "only P-256"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewFromPEM(tc.pem)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNewHMACRejectsShortSecret(t *testing.T) {
	_, err := NewHMAC([]byte("short"))
	require.ErrorContains(t, err, "use at least 32")
	_, err = NewHMACSigner([]byte("short")).Sign(goodClaims())
	require.ErrorContains(t, err, "use at least 32")
}

func TestNewHMACCopiesSecret(t *testing.T) {
	secret := []byte(string(testSecret))
	v, err := NewHMAC(secret, WithClock(func() time.Time { return testNow }))
	require.NoError(t, err)
	tok := signHMAC(t, goodClaims())
	secret[0] ^= 0xff
	_, err = v.Verify(tok)
	require.NoError(t, err)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyRejectsAlgNone(t *testing.T) {
	payload := `{"sub":"alice","tenant":"acme","exp":` + jwt.NewNumericDate(testNow.Add(time.Hour)).String() + `}`
	for _, header := range []string{`{"alg":"none"}`, `{"alg":"none","typ":"JWT"}`, `{"alg":"None"}`, `{"alg":"NONE"}`} {
		for _, sig := range []string{"", b64("x")} {
			tok := b64(header) + "." + b64(payload) + "." + sig
			_, err := hmacVerifier(t).Verify(tok)
			require.ErrorIs(t, err, ErrInvalid, tok)
			v, err := NewFromPEM(testKeys()["RS256"].pubPEM, WithClock(func() time.Time { return testNow }))
			require.NoError(t, err)
			_, err = v.Verify(tok)
			require.ErrorIs(t, err, ErrInvalid, tok)
		}
	}
}

func TestVerifyRejectsAlgorithmConfusion(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			kp := testKeys()[alg]
			v, err := NewFromPEM(kp.pubPEM, WithClock(func() time.Time { return testNow }))
			require.NoError(t, err)
			// The classic forgery: HS256 keyed with the public key's PEM bytes,
			// which a naive verifier would hand to the HMAC method.
			forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims()).SignedString(kp.pubPEM)
			require.NoError(t, err)
			_, err = v.Verify(forged)
			require.ErrorIs(t, err, ErrInvalid)
			require.NotErrorIs(t, err, ErrExpired)
		})
	}
}

func TestVerifyRejectsOtherKeyAndTampering(t *testing.T) {
	v := hmacVerifier(t)
	other, err := NewHMACSigner([]byte(strings.Repeat("z", 32))).Sign(goodClaims())
	require.NoError(t, err)
	_, err = v.Verify(other)
	require.ErrorIs(t, err, ErrInvalid)

	// Swap in a payload claiming another tenant, keep the signature.
	tok := signHMAC(t, goodClaims())
	parts := strings.Split(tok, ".")
	evil := goodClaims()
	evil.Tenant = "victim"
	evilTok := signHMAC(t, evil)
	parts[1] = strings.Split(evilTok, ".")[1]
	_, err = v.Verify(strings.Join(parts, "."))
	require.ErrorIs(t, err, ErrInvalid)
}

func TestVerifyExpired(t *testing.T) {
	c := goodClaims()
	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Second))
	tok := signHMAC(t, c)
	_, err := hmacVerifier(t).Verify(tok)
	require.ErrorIs(t, err, ErrExpired)
	require.NotErrorIs(t, err, ErrInvalid)

	// Leeway tolerates clock skew.
	_, err = hmacVerifier(t, WithLeeway(5*time.Second)).Verify(tok)
	require.NoError(t, err)

	// Expired and forged is invalid, not expired: refreshing would not help.
	forged, err := NewHMACSigner([]byte(strings.Repeat("z", 32))).Sign(c)
	require.NoError(t, err)
	_, err = hmacVerifier(t).Verify(forged)
	require.ErrorIs(t, err, ErrInvalid)
	require.NotErrorIs(t, err, ErrExpired)

	// Expired and missing its tenant is invalid too.
	c.Tenant = ""
	_, err = hmacVerifier(t).Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid)
	require.NotErrorIs(t, err, ErrExpired)
}

func TestVerifyRejectsBadClaims(t *testing.T) {
	for name, tc := range map[string]struct {
		mut  func(*Claims)
		want string
	}{
		"missing sub":      {func(c *Claims) { c.Subject = "" }, "sub is required"},
		"missing tenant":   {func(c *Claims) { c.Tenant = "" }, "tenant is required"},
		"bad tenant":       {func(c *Claims) { c.Tenant = "Acme Corp" }, "not 1-64 characters"},
		"long tenant":      {func(c *Claims) { c.Tenant = strings.Repeat("a", 65) }, "not 1-64 characters"},
		"missing exp":      {func(c *Claims) { c.ExpiresAt = nil }, "exp claim is required"},
		"not yet valid":    {func(c *Claims) { c.NotBefore = jwt.NewNumericDate(testNow.Add(time.Minute)) }, "not valid yet"},
		"star in sub":      {func(c *Claims) { c.Subject = "al*" }, "must not contain '*'"},
		"long sub":         {func(c *Claims) { c.Subject = strings.Repeat("a", MaxSubjectBytes+1) }, "sub is longer"},
		"mid-star pattern": {func(c *Claims) { c.Chan = []string{"device:*:x"} }, "chan[0]"},
		"empty pattern":    {func(c *Claims) { c.Pub = []string{"app:x", ""} }, "pub[1]: empty pattern"},
		"raw cmd id":       {func(c *Claims) { c.Cmd = []string{"living room"} }, `"living%20room"`},
		"unknown api":      {func(c *Claims) { c.API = []string{"publish", "everything"} }, `api[1]: "everything"`},
	} {
		t.Run(name, func(t *testing.T) {
			c := goodClaims()
			tc.mut(&c)
			_, err := hmacVerifier(t).Verify(signHMAC(t, c))
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestVerifyIssuerAndAudience(t *testing.T) {
	v := hmacVerifier(t, WithIssuer("https://id.example"), WithAudience("mqlive"))
	c := goodClaims()
	_, err := v.Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid, "both missing")

	c.Issuer = "https://id.example"
	c.Audience = jwt.ClaimStrings{"other", "mqlive"}
	_, err = v.Verify(signHMAC(t, c))
	require.NoError(t, err)

	c.Issuer = "https://evil.example"
	_, err = v.Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "issuer")

	c.Issuer = "https://id.example"
	c.Audience = jwt.ClaimStrings{"other"}
	_, err = v.Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "audience")

	// Wrong audience and expired: invalid, since a refresh would not help.
	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Hour))
	_, err = v.Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid)
	require.NotErrorIs(t, err, ErrExpired)

	// Without the options, iss and aud are not checked.
	c = goodClaims()
	c.Issuer, c.Audience = "anyone", jwt.ClaimStrings{"anything"}
	_, err = hmacVerifier(t).Verify(signHMAC(t, c))
	require.NoError(t, err)
}

func TestVerifyMalformed(t *testing.T) {
	v := hmacVerifier(t)
	for _, tok := range []string{
		"", "a", "a.b", "a.b.c", "a.b.c.d",
		b64(`{"alg":"HS256"}`) + "." + b64(`not json`) + ".x",
		b64(`{"alg":"HS256"}`) + "." + b64(`{"sub":1}`) + ".x",
		strings.Repeat("a", MaxTokenBytes+1),
	} {
		_, err := v.Verify(tok)
		require.ErrorIs(t, err, ErrInvalid, tok)
	}
}

func TestVerifyTokenSizeLimit(t *testing.T) {
	c := goodClaims()
	c.Chan = []string{strings.Repeat("x", MaxTokenBytes)}
	_, err := hmacVerifier(t).Verify(signHMAC(t, c))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "more than 8192")
}

func TestVerifyChanClaim(t *testing.T) {
	v := hmacVerifier(t)
	c := goodClaims()
	c.Chan = []string{"device:kitchen-*"}
	id, err := v.Verify(signHMAC(t, c))
	require.NoError(t, err)
	require.Equal(t, []string{"device:kitchen-*"}, id.Chan)

	// An explicitly empty list grants nothing; only an absent one defaults.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "tenant": "acme", "exp": testNow.Add(time.Hour).Unix(), "chan": []string{},
	}).SignedString(testSecret)
	require.NoError(t, err)
	id, err = v.Verify(tok)
	require.NoError(t, err)
	require.NotNil(t, id.Chan)
	require.Empty(t, id.Chan)
	require.False(t, id.CanSubscribe("devices"))
}

// TestMaxLifetime: with a cap, exp - iat above it, a missing iat and an iat
// in the future are all refused; without one, none of them is.
func TestMaxLifetime(t *testing.T) {
	capped := hmacVerifier(t, WithMaxLifetime(time.Hour))
	require.Equal(t, time.Hour, capped.MaxLifetime())
	c := goodClaims()
	c.IssuedAt = jwt.NewNumericDate(testNow)
	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(time.Hour))
	_, err := capped.Verify(signHMAC(t, c))
	require.NoError(t, err, "exactly the cap")

	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(time.Hour + time.Second))
	long := signHMAC(t, c)
	_, err = capped.Verify(long)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "more than the 1h0m0s allowed")

	c.IssuedAt = nil
	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(time.Minute))
	noIat := signHMAC(t, c)
	_, err = capped.Verify(noIat)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "iat is required")

	// An iat in the future would let a token outlive the cap.
	c.IssuedAt = jwt.NewNumericDate(testNow.Add(24 * time.Hour))
	c.ExpiresAt = jwt.NewNumericDate(testNow.Add(24*time.Hour + time.Minute))
	future := signHMAC(t, c)
	_, err = capped.Verify(future)
	require.ErrorIs(t, err, ErrInvalid)

	free := hmacVerifier(t)
	require.Zero(t, free.MaxLifetime())
	for _, tok := range []string{long, noIat, future} {
		_, err = free.Verify(tok)
		require.NoError(t, err)
	}
}

func TestAPIClaim(t *testing.T) {
	c := goodClaims()
	c.Admin = true
	id, err := hmacVerifier(t).Verify(signHMAC(t, c))
	require.NoError(t, err)
	for _, op := range APIOperations {
		require.False(t, id.CanAPI(op), "admin alone grants no API operation (%s)", op)
	}
	c.API = []string{APIPublish, APINodes}
	id, err = hmacVerifier(t).Verify(signHMAC(t, c))
	require.NoError(t, err)
	require.True(t, id.CanAPI(APIPublish))
	require.True(t, id.CanAPI(APINodes))
	require.False(t, id.CanAPI(APISignOut))
	require.False(t, id.CanAPI(APIRevoke))
}

func TestSignedOutBy(t *testing.T) {
	at := time.Date(2026, 11, 23, 17, 0, 0, 500e6, time.UTC)
	for _, tc := range []struct {
		iat  time.Time
		want bool
	}{
		{time.Time{}, true},
		{at.Add(-time.Hour), true},
		{at.Truncate(time.Second), true}, // same second: may predate it
		{at.Truncate(time.Second).Add(time.Second), false},
	} {
		id := &Identity{IssuedAt: tc.iat}
		require.Equal(t, tc.want, id.SignedOutBy(at), "iat %v", tc.iat)
		require.False(t, id.SignedOutBy(time.Time{}))
	}
}
