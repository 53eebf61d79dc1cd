package valkey

import (
	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// Internals for the store and fan-out tests, which are in package
// valkey_test (bridgetest imports the bridge, which imports this package).

// StoreTopic is the pub/sub topic of a channel.
func StoreTopic(s *Store, tenant, channel string) string { return s.k.topic(tenant, channel) }

// FanoutSubscriptions is the number of subscriptions f holds.
func FanoutSubscriptions(f *Fanout) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// DecodePayload decodes a pub/sub payload.
func DecodePayload(ch wire.Channel, msg string) (*state.Publication, error) {
	return decodePayload(ch, msg)
}

// ErrBadPayload is decodePayload's error.
var ErrBadPayload = errBadPayload

// ClientOption is cfg's valkey-go options.
func ClientOption(cfg Config) valkey.ClientOption { return cfg.clientOption() }
