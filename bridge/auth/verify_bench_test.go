package auth

import (
	"testing"
	"time"
)

// BenchmarkVerify is the token check of every connect (issue 10, W3): an
// HS256 token with the dev token's claims.
func BenchmarkVerify(b *testing.B) {
	tok, err := NewHMACSigner(testSecret).Sign(DevClaims("alice", "acme", time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewHMAC(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
