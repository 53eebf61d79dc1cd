package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// signaturePrefix names the scheme version in Mqlive-Signature, so that a
// new scheme can be added beside it without breaking receivers.
const signaturePrefix = "v1="

// Sign returns the Mqlive-Signature value of body sent at timestamp ts
// (decimal Unix seconds): "v1=" + lowercase hex of
// HMAC-SHA256(secret, ts + "." + body).
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verification errors.
var (
	ErrBadTimestamp = errors.New("webhook: timestamp missing, malformed or outside the tolerance")
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Verify checks a delivery as a receiver should: the timestamp header
// (ts) is within tolerance of now, and sig (the Mqlive-Signature header)
// is the signature of ts and the raw body under secret, compared in
// constant time.
func Verify(secret, ts, sig string, body []byte, tolerance time.Duration, now time.Time) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrBadTimestamp
	}
	if !strings.HasPrefix(sig, signaturePrefix) || !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}
