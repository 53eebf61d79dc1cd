package embedded

import (
	"errors"
	"fmt"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqlive/mqlive/devices"
)

// inlineSub is one Subscribe call: its filters share one mochi subscription
// identifier, so a message matching several of them is delivered once, as
// to one MQTT client subscribed to all of them.
type inlineSub struct {
	id      int
	filters []string
	h       func(topic string, payload []byte, retained bool)
}

// covers reports whether the subscription takes topic. mochi hands inline
// subscriptions the topics that begin with "$" ($SYS/broker/...) even
// under a leading wildcard, which MQTT forbids ([MQTT-4.7.2-1]: "#" and
// "+/..." do not match them) and which the bridge's own MQTT client never
// got: such a topic is taken only when a filter names its first level.
func (s *inlineSub) covers(topic string) bool {
	if !strings.HasPrefix(topic, "$") {
		return true
	}
	for _, f := range s.filters {
		if f[0] != '#' && f[0] != '+' && devices.Match(f, topic) {
			return true
		}
	}
	return false
}

// Subscribe delivers every message published to the broker on a topic
// matching one of filters to h, in the process: no connection, no MQTT
// encoding or decoding. topic and payload belong to the broker and to
// every other subscriber of the message: h may keep them but must not
// modify them. retained is true only for the retained messages replayed
// when the subscription starts, as an MQTT 3.1.1 subscriber sees them
// ([MQTT-3.3.1-8], [MQTT-3.3.1-9]): a live message comes with retained
// false whatever its publisher set. h is called on the goroutine of the client that
// published the message, after the broker has acknowledged a QoS 1 or 2
// publish, so one publisher's messages reach h in the order it sent them,
// and an h that blocks holds back that publisher alone (its TCP window
// fills, and it waits) rather than queueing without bound. The access
// hook does not apply: like the bridge's own client before it, an inline
// subscriber sees every topic of its filters.
//
// Called before Run, the subscription is in place before the first client
// can connect, so no message is missed; the retained messages (those Run
// loads from Config.DataDir included) are then replayed to h once Run has
// started serving, on Run's goroutine. Called later, they are replayed
// before Subscribe returns. Either way a message retained while the replay
// runs may reach h twice, live and then retained, like a client's.
func (b *Broker) Subscribe(filters []string, h func(topic string, payload []byte, retained bool)) error {
	if h == nil || len(filters) == 0 {
		return errors.New("embedded: subscribe needs a handler and at least one filter")
	}
	for _, f := range filters {
		if err := devices.ValidFilter(f); err != nil {
			return fmt.Errorf("embedded: subscribe %q: %w", f, err)
		}
	}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return ErrNotServing
	}
	b.inlineSubs++
	s := inlineSub{id: b.inlineSubs, filters: append([]string(nil), filters...), h: h}
	deliver := func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		if s.covers(pk.TopicName) {
			s.h(pk.TopicName, pk.Payload, false)
		}
	}
	for _, f := range s.filters {
		b.srv.Topics.InlineSubscribe(mqtt.InlineSubscription{
			Subscription: packets.Subscription{Filter: f, Identifier: s.id},
			Handler:      deliver,
		})
	}
	served := b.served
	if !served {
		b.pending = append(b.pending, s)
	}
	b.mu.Unlock()
	if served {
		b.replayRetained(s)
	}
	return nil
}

// replayRetained hands s the retained messages of its filters, each topic
// once even when several filters cover it. It collects them all before the
// first call to h, so that a slow h does not stretch the scan of mochi's
// topic tree, which mochi reads without its lock (as it does for a client
// that subscribes) while clients may be retaining new messages.
func (b *Broker) replayRetained(s inlineSub) {
	seen := map[string]struct{}{}
	var msgs []packets.Packet
	for _, f := range s.filters {
		for _, pk := range b.srv.Topics.Messages(f) {
			if _, dup := seen[pk.TopicName]; !dup && s.covers(pk.TopicName) {
				seen[pk.TopicName] = struct{}{}
				msgs = append(msgs, pk)
			}
		}
	}
	for _, pk := range msgs {
		s.h(pk.TopicName, pk.Payload, true)
	}
}

// Publish publishes a message into the broker from the process: subscribed
// clients (devices) receive it as if an MQTT client had published it, with
// up to qos, and so do inline subscriptions whose filters cover it. It
// bypasses the access hook, as the bridge's own client did. It fails with
// ErrNotServing before Run has started serving and after Close.
func (b *Broker) Publish(topic string, payload []byte, qos byte, retain bool) error {
	b.mu.Lock()
	ok := b.served && !b.done
	b.mu.Unlock()
	if !ok {
		return ErrNotServing
	}
	if qos > 2 {
		return fmt.Errorf("embedded: publish %s: invalid qos %d", topic, qos)
	}
	if err := b.srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("embedded: publish %s: %w", topic, err)
	}
	return nil
}
