package state

import "errors"

// ErrLimit is matched (errors.Is) by every error a Store returns for a
// Reading it refused, wholly or in part, by policy rather than by failure:
// such an error must not be retried. Errors.As with *LimitError gives the
// reason.
var ErrLimit = errors.New("state: limit")

// LimitError is a policy refusal of Apply. Reason is a bounded metric label.
type LimitError struct {
	// Reason: "device_limit", "identity_conflict", "field_limit",
	// "tag_limit".
	Reason string
	// Partial: the Reading was merged without what the limit refused, and
	// Apply removed that from the Reading, so it can still be published.
	Partial bool
	msg     string
}

func (e *LimitError) Error() string { return e.msg }

// Is makes every LimitError match ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

var (
	// ErrTooManyDevices is returned by Apply when a tenant already has
	// Config.MaxDevices devices and a message names a new one. The
	// Reading is refused.
	ErrTooManyDevices error = &LimitError{Reason: "device_limit", msg: "state: tenant device limit reached"}
	// ErrIdentityConflict is returned by Apply when the Reading's device id
	// belongs, in its tenant, to another source (see Meta.SourceKey). The
	// Reading is refused, so a stray message of one family cannot take over
	// a device of another, nor its command route.
	ErrIdentityConflict error = &LimitError{Reason: "identity_conflict", msg: "state: device id owned by another source"}
	// ErrFieldLimit is returned by Apply when the Reading names new metrics
	// or attrs past Config.MaxDeviceFields: those fields are refused (and
	// removed from the Reading); the rest is merged.
	ErrFieldLimit error = &LimitError{Reason: "field_limit", Partial: true, msg: "state: device field limit reached"}
	// ErrTagLimit is returned by Apply when the Reading carries tag values
	// that would mint tag channels past Config.MaxTagChannels: those tags
	// are refused (and removed from the Reading, so no channel is
	// published); the rest is merged.
	ErrTagLimit error = &LimitError{Reason: "tag_limit", Partial: true, msg: "state: tenant tag channel limit reached"}
)

// LimitReasons lists the reasons of every LimitError in err (which may
// join several), and reports whether the Reading was still merged: err is
// nil, or every limit in it is partial.
func LimitReasons(err error) (reasons []string, merged bool) {
	if err == nil {
		return nil, true
	}
	merged = true
	var walk func(error) bool
	walk = func(e error) bool {
		switch x := e.(type) {
		case *LimitError:
			reasons = append(reasons, x.Reason)
			merged = merged && x.Partial
			return true
		case interface{ Unwrap() []error }:
			found := false
			for _, e := range x.Unwrap() {
				found = walk(e) || found
			}
			return found
		case interface{ Unwrap() error }:
			return walk(x.Unwrap())
		}
		return false
	}
	if !walk(err) {
		merged = false // not a limit: a failure
	}
	return reasons, merged
}

// SourceKey is the stable identity of a configured source: its family and
// base topic. Device ownership is recorded by this key, not by the source's
// index in the configuration, because indexes shift when a source is added
// or removed, and a device owned by index 2 would silently pass to
// whichever source moved into that slot. With the key, removing a source
// leaves its devices owned by it until they have been silent for
// Config.IdentityTTL; then the first source that speaks for the id takes
// it over with a fresh state.
func SourceKey(family, base string) string { return family + ":" + base }
