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
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sentinel errors of Verify. The WebSocket edge maps them to protocol codes.
var (
	// ErrInvalid: the token is malformed, forged, not yet valid, for another
	// issuer or audience, or lacks a required claim (protocol 4001).
	ErrInvalid = errors.New("auth: invalid token")
	// ErrExpired: the token was sound but its exp has passed (protocol 4010;
	// the client should refresh and reconnect).
	ErrExpired = errors.New("auth: token expired")
)

// MaxTokenBytes is the longest token Verify decodes; longer ones are
// ErrInvalid without being parsed.
const MaxTokenBytes = 8 << 10

// MinHMACSecretBytes is the shortest HS256 secret accepted: RFC 7518 §3.2
// requires a key at least as long as the hash output (256 bits).
const MinHMACSecretBytes = 32

// MinRSABits is the smallest RSA modulus accepted (NIST SP 800-57).
const MinRSABits = 2048

// Option configures a Verifier.
type Option func(*options)

type options struct {
	issuer   string
	audience string
	clock    func() time.Time
	leeway   time.Duration
	maxLife  time.Duration
}

// WithIssuer requires the iss claim to equal iss. An empty iss checks nothing.
func WithIssuer(iss string) Option { return func(o *options) { o.issuer = iss } }

// WithAudience requires the aud claim to contain aud. An empty aud checks
// nothing.
func WithAudience(aud string) Option { return func(o *options) { o.audience = aud } }

// WithClock sets the clock used for exp and nbf (tests; default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithLeeway tolerates clock skew between the token issuer and the bridge
// when checking exp and nbf. Default 0.
func WithLeeway(d time.Duration) Option { return func(o *options) { o.leeway = d } }

// WithMaxLifetime caps exp - iat at d and then requires iat, and refuses
// an iat in the future (beyond the leeway), so that a token cannot be made
// to outlive a sign-out by more than d. d <= 0 caps nothing.
func WithMaxLifetime(d time.Duration) Option { return func(o *options) { o.maxLife = max(d, 0) } }

// Verifier checks tokens signed with one key and one algorithm.
type Verifier struct {
	alg     string
	key     any
	parser  *jwt.Parser
	clock   func() time.Time
	leeway  time.Duration
	maxLife time.Duration
}

// NewHMAC returns a Verifier for HS256 tokens signed with secret, which must
// be at least MinHMACSecretBytes long. The secret is copied.
func NewHMAC(secret []byte, opts ...Option) (*Verifier, error) {
	if len(secret) < MinHMACSecretBytes {
		return nil, fmt.Errorf("auth: HS256 secret is %d bytes; use at least %d random bytes", len(secret), MinHMACSecretBytes)
	}
	return newVerifier(jwt.SigningMethodHS256.Alg(), slices.Clone(secret), opts), nil
}

// NewFromPEM returns a Verifier for the public key in pemBytes (a "PUBLIC
// KEY" PKIX block, an "RSA PUBLIC KEY" PKCS #1 block, or a "CERTIFICATE"). The
// algorithm is pinned to the key type: RSA → RS256, ECDSA P-256 → ES256,
// Ed25519 → EdDSA.
func NewFromPEM(pemBytes []byte, opts ...Option) (*Verifier, error) {
	pub, err := parsePublicKeyPEM(pemBytes)
	if err != nil {
		return nil, err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("auth: RSA key has %d bits; use at least %d", k.N.BitLen(), MinRSABits)
		}
		return newVerifier(jwt.SigningMethodRS256.Alg(), k, opts), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: ECDSA key on curve %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return newVerifier(jwt.SigningMethodES256.Alg(), k, opts), nil
	case ed25519.PublicKey:
		return newVerifier(jwt.SigningMethodEdDSA.Alg(), k, opts), nil
	default:
		return nil, fmt.Errorf("auth: unsupported public key type %T; use RSA, ECDSA P-256 or Ed25519", pub)
	}
}

func parsePublicKeyPEM(pemBytes []byte) (any, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("auth: no PEM block found in public key")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse PUBLIC KEY: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse RSA PUBLIC KEY: %w", err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse CERTIFICATE: %w", err)
		}
		return c.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("auth: PEM block is a %s; give the bridge only the public key", block.Type)
	default:
		return nil, fmt.Errorf("auth: PEM block type %q is not a public key; want PUBLIC KEY", block.Type)
	}
}

func newVerifier(alg string, key any, opts []Option) *Verifier {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	popts := []jwt.ParserOption{
		// The algorithm is pinned to the key: this is what rejects `none`
		// and HS256-with-the-public-key forgeries (RFC 8725 §3.1).
		jwt.WithValidMethods([]string{alg}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(o.clock),
		jwt.WithLeeway(o.leeway),
		jwt.WithStrictDecoding(),
	}
	if o.issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.issuer))
	}
	if o.audience != "" {
		popts = append(popts, jwt.WithAudience(o.audience))
	}
	if o.maxLife > 0 {
		// An iat in the future would stretch the cap.
		popts = append(popts, jwt.WithIssuedAt())
	}
	return &Verifier{alg: alg, key: key, parser: jwt.NewParser(popts...), clock: o.clock,
		leeway: o.leeway, maxLife: o.maxLife}
}

// Algorithm returns the one JWS algorithm the Verifier accepts.
func (v *Verifier) Algorithm() string { return v.alg }

// MaxLifetime is the cap on exp - iat; 0 when there is none.
func (v *Verifier) MaxLifetime() time.Duration { return v.maxLife }

// Leeway is the tolerated clock skew.
func (v *Verifier) Leeway() time.Duration { return v.leeway }

// Verify checks token's signature and claims and returns the identity it
// carries. Errors wrap ErrExpired when the token is sound but expired, and
// ErrInvalid otherwise; the detail is for logs, not for clients.
func (v *Verifier) Verify(token string) (*Identity, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token is %d bytes, more than %d", ErrInvalid, len(token), MaxTokenBytes)
	}
	var c Claims
	_, err := v.parser.ParseWithClaims(token, &c, v.keyFor)
	if err != nil {
		if onlyExpired(err) {
			return nil, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if v.maxLife > 0 {
		if c.IssuedAt == nil {
			return nil, fmt.Errorf("%w: iat is required (tokens live at most %s)", ErrInvalid, v.maxLife)
		}
		if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > v.maxLife {
			return nil, fmt.Errorf("%w: token lifetime exp - iat is %s, more than the %s allowed", ErrInvalid, life, v.maxLife)
		}
	}
	id := &Identity{
		User:    c.Subject,
		Tenant:  c.Tenant,
		Expires: c.ExpiresAt.UTC(),
		Admin:   c.Admin,
		Chan:    c.Chan,
		Pub:     c.Pub,
		Cmd:     c.Cmd,
		ID:      c.ID,
		API:     c.API,
	}
	if c.IssuedAt != nil {
		id.IssuedAt = c.IssuedAt.UTC()
	}
	if id.Chan == nil {
		id.Chan = DefaultChan(c.Subject)
	}
	return id, nil
}

// keyFor hands the key to the JWT library only for the pinned algorithm; the
// library already refuses other algorithms, this is a second lock.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if t.Method == nil || t.Method.Alg() != v.alg {
		return nil, fmt.Errorf("algorithm %v is not %s", t.Header["alg"], v.alg)
	}
	return v.key, nil
}

// onlyExpired reports whether err says the token is expired and nothing
// else is wrong with it, so that a refresh would help.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		errBadClaim,
		jwt.ErrTokenMalformed,
		jwt.ErrTokenUnverifiable,
		jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing,
		jwt.ErrTokenInvalidAudience,
		jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenNotValidYet,
		jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidSubject,
		jwt.ErrTokenInvalidId,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}
