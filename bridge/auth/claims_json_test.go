package auth

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// reflectClaims decodes b into base as encoding/json did before Claims
// had an UnmarshalJSON: by reflection.
func reflectClaims(b []byte, base Claims) (Claims, error) {
	type Claims claimsFields
	c := Claims(base)
	err := json.Unmarshal(b, &c)
	return claimsFields(c), err
}

// checkClaims fails t unless json.Unmarshal into Claims (and so the JWT
// library) reads b as reflection does, over zero claims and over claims
// that hold values already.
func checkClaims(t *testing.T, b []byte) {
	t.Helper()
	held := goodClaims()
	held.Chan, held.Admin, held.Issuer = []string{"devices"}, true, "old"
	for _, base := range []Claims{{}, held} {
		got := base
		gerr := json.Unmarshal(b, &got)
		want, werr := reflectClaims(b, base)
		if (gerr != nil) != (werr != nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("claims %q: errors differ: %v vs reflection %v", b, gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("claims %q:\nUnmarshalJSON %+v\nreflection    %+v", b, got, want)
		}
	}
}

// TestClaimsFastPathTakesMqliveTokens: the claims mqlive tokens carry
// (the dev token's, the SDK examples', the load generator's) are read
// without reflection; if the fast path stopped taking them, nothing else
// would notice.
func TestClaimsFastPathTakesMqliveTokens(t *testing.T) {
	dev := DevClaims("alice", "acme", time.Hour)
	dev.ID, dev.Issuer, dev.NotBefore = "t-1", "https://issuer.example", jwt.NewNumericDate(testNow)
	narrow := goodClaims()
	narrow.Chan, narrow.Pub = []string{}, []string{"app:x", "user:alice"}
	for _, c := range []Claims{goodClaims(), dev, narrow} {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		out, ok := decodeClaimsFast(b, Claims{})
		require.True(t, ok, "%s", b)
		checkClaims(t, b)
		want, err := reflectClaims(b, Claims{})
		require.NoError(t, err)
		require.Equal(t, want, out)
	}
}

// TestClaimsOtherwiseAsEncodingJSON: what the fast path does not take
// decodes as it did, errors included.
func TestClaimsOtherwiseAsEncodingJSON(t *testing.T) {
	for _, b := range []string{
		`{"sub":"a","aud":"x","exp":1}`,
		`{"sub":"a","aud":["x","y"],"exp":1}`,
		`{"sub":"a","exp":1,"extra":{"k":[1,2]}}`,
		`{"sub":"a\u0062","exp":1.5}`,
		`{"SUB":"a","Tenant":"t"}`,
		`{"sub":"a","sub":"b"}`,
		`{"chan":null,"exp":null}`,
		`{"chan":[],"pub":["a",null]}`,
		`{"chan":["a",1]}`,
		`{"admin":1}`,
		`{"exp":"soon"}`,
		`{"exp":1e400}`,
		`{"exp":-0.5,"iat":1e-7,"nbf":253402300800.9}`,
		`{"tenant":5}`,
		`[]`,
		`null`,
		`{}`,
		` { "sub" : "a" , "chan" : [ "x" , "y" ] } `,
	} {
		checkClaims(t, []byte(b))
	}
}

func FuzzClaimsUnmarshalJSON(f *testing.F) {
	for _, c := range []Claims{goodClaims(), DevClaims("bob", "t", time.Minute)} {
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"sub":"é","exp":1764790400.999999,"iat":-1,"admin":false,"cmd":["*"],"api":[]}`))
	f.Add([]byte(`{"jti":"x","iss":"y","nbf":0,"chan":["device:*","tag:site:*"]}`))
	f.Add([]byte(`{"exp":9223372036854775808,"iat":1e19}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // encoding/json refuses it before any UnmarshalJSON runs
		}
		checkClaims(t, b)
	})
}
