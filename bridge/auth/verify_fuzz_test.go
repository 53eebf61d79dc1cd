package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and it
// must accept nothing that the signer did not make.
func FuzzVerify(f *testing.F) {
	good := goodClaims()
	tok, err := NewHMACSigner(testSecret).Sign(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add("..")
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"sub":"a","tenant":"t","exp":9999999999}`) + ".")
	f.Add(b64(`{"alg":"HS256"}`) + "." + b64(`{"sub":"a","tenant":"t","exp":1e400}`) + ".x")
	f.Add(b64(`{"alg":"HS256"}`) + "." + b64(`{"chan":[null,1],"aud":{}}`) + ".x")
	f.Add(b64(`{"alg":"RS256","kid":"x"}`) + "." + b64(`[]`) + ".")
	v, err := NewHMAC(testSecret, WithClock(func() time.Time { return testNow }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := v.Verify(s)
		if err != nil {
			require.Nil(t, id)
			return
		}
		// Only the signed token (or an equivalent encoding of it) verifies.
		require.Equal(t, good.Subject, id.User)
		require.Equal(t, good.Tenant, id.Tenant)
	})
}
