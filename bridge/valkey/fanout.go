package valkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/fanout"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// Fanout is the fanout.Fanout of a cluster: Publish runs the store's
// append script, which publishes on the channel's sharded topic in the
// same step, and every node subscribed to that topic (the publishing one
// included) hands the publication to its Handler.
//
// Each subscribed channel has one goroutine that runs valkey-go's Receive
// with SSUBSCRIBE; Receive routes the subscription by slot to the shard
// that owns the channel's keys, so one code path serves a standalone
// server and a Cluster. When the connection is lost (or the shard drops
// the subscription after a slot migration) the goroutine subscribes again,
// and once the server confirms it, calls Handler.Lost so that sessions
// re-sync from the store.
type Fanout struct {
	store *Store
	c     valkey.Client
	h     fanout.Handler
	log   *slog.Logger

	mu     sync.Mutex
	subs   map[subKey]*subscription
	closed bool
	wg     sync.WaitGroup
}

var _ fanout.Fanout = (*Fanout)(nil)

type subKey struct{ tenant, channel string }

// subscription is one channel this node receives.
type subscription struct {
	tenant  string
	channel wire.Channel
	topic   string
	ctx     context.Context
	cancel  context.CancelFunc
	// ready is closed at the server's first confirmation.
	ready     chan struct{}
	confirmed atomic.Bool
	// done is closed when the receiving goroutine has returned.
	done chan struct{}
}

// ErrFanoutClosed is returned by Subscribe after Close.
var ErrFanoutClosed = errors.New("valkey: fan-out closed")

// errStopped: the subscription was stopped before it was confirmed.
var errStopped = errors.New("unsubscribed before confirmed")

// errBadPayload is a pub/sub message that is not a publication frame.
var errBadPayload = errors.New("malformed publication payload")

// NewFanout returns a fan-out that publishes through store (and its client)
// and delivers to h; log nil means slog.Default(). It does no I/O.
func NewFanout(store *Store, h fanout.Handler, log *slog.Logger) *Fanout {
	if log == nil {
		log = slog.Default()
	}
	return &Fanout{store: store, c: store.c, h: h, log: log, subs: make(map[subKey]*subscription)}
}

// Publish implements fanout.Fanout: append and publish in one EVALSHA.
func (f *Fanout) Publish(ctx context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*state.Publication, error) {
	return f.store.Append(ctx, tenant, ch, data, r)
}

// Subscribe implements fanout.Fanout. It returns once the server has
// confirmed the SSUBSCRIBE, so a publication made after it returns is
// delivered. Subscribing a channel already subscribed waits for that
// subscription. When ctx ends first, the subscription is rolled back.
func (f *Fanout) Subscribe(ctx context.Context, tenant, channel string) error {
	ch, err := wire.ParseChannel(channel)
	if err != nil {
		return fmt.Errorf("valkey: subscribe %s: %w", channel, err)
	}
	key := subKey{tenant, channel}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrFanoutClosed
	}
	sub := f.subs[key]
	created := sub == nil
	if created {
		sub = &subscription{tenant: tenant, channel: ch, topic: f.store.k.topic(tenant, channel),
			ready: make(chan struct{}), done: make(chan struct{})}
		sub.ctx, sub.cancel = context.WithCancel(context.Background())
		f.subs[key] = sub
		f.wg.Add(1)
		go f.receive(sub)
	}
	f.mu.Unlock()
	select {
	case <-sub.ready:
		return nil
	case <-sub.done:
		// Stopped (Unsubscribe or Close) before the server confirmed.
		return fmt.Errorf("valkey: subscribe %s: %w", channel, errStopped)
	case <-ctx.Done():
		// Roll back only what this call started.
		if created {
			f.mu.Lock()
			if f.subs[key] == sub {
				delete(f.subs, key)
			}
			f.mu.Unlock()
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = f.stop(stopCtx, sub)
			cancel()
		}
		return fmt.Errorf("valkey: subscribe %s: %w", channel, ctx.Err())
	}
}

// Unsubscribe implements fanout.Fanout. Nothing of the channel is
// delivered once it returns.
func (f *Fanout) Unsubscribe(ctx context.Context, tenant, channel string) error {
	key := subKey{tenant, channel}
	f.mu.Lock()
	sub := f.subs[key]
	delete(f.subs, key)
	f.mu.Unlock()
	if sub == nil {
		return nil
	}
	if err := f.stop(ctx, sub); err != nil {
		return fmt.Errorf("valkey: unsubscribe %s: %w", channel, err)
	}
	return nil
}

// stop ends a subscription: the receiving goroutine first (so that it does
// not subscribe again), then the server side.
func (f *Fanout) stop(ctx context.Context, sub *subscription) error {
	sub.cancel()
	select {
	case <-sub.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return f.c.Do(ctx, f.c.B().Sunsubscribe().Channel(sub.topic).Build()).Error()
}

// Subscribed reports whether the channel is subscribed and confirmed.
func (f *Fanout) Subscribed(tenant, channel string) bool {
	f.mu.Lock()
	sub := f.subs[subKey{tenant, channel}]
	f.mu.Unlock()
	return sub != nil && sub.confirmed.Load()
}

// Close ends every subscription and waits for their goroutines; Subscribe
// fails afterwards. It does not close the client.
func (f *Fanout) Close() {
	f.mu.Lock()
	f.closed = true
	subs := f.subs
	f.subs = make(map[subKey]*subscription)
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, sub := range subs {
		_ = f.stop(ctx, sub)
	}
	f.wg.Wait()
}

// receive runs Receive for one channel until the subscription is stopped,
// subscribing again after every loss.
func (f *Fanout) receive(sub *subscription) {
	defer f.wg.Done()
	defer close(sub.done)
	// Runs on valkey-go's connection goroutine: no I/O, nothing blocking.
	hook := func(s valkey.PubSubSubscription) {
		if s.Kind != "ssubscribe" || s.Channel != sub.topic || sub.ctx.Err() != nil {
			return
		}
		if sub.confirmed.CompareAndSwap(false, true) {
			close(sub.ready)
			return
		}
		// A re-subscription after a loss: what was published in between
		// is not coming, so the hub makes its sessions re-sync.
		f.h.Lost(sub.tenant, sub.channel.Name)
	}
	ctx := valkey.WithOnSubscriptionHook(sub.ctx, hook)
	// Runs on the Receive goroutine, one message at a time, in order.
	onMessage := func(m valkey.PubSubMessage) {
		if sub.ctx.Err() != nil {
			return
		}
		p, err := decodePayload(sub.channel, m.Message)
		if err != nil {
			f.log.Warn("valkey fan-out: dropped a message", "tenant", sub.tenant, "channel", sub.channel.Name, "err", err)
			return
		}
		f.h.Deliver(sub.tenant, p)
	}
	backoff := 50 * time.Millisecond
	for {
		start := time.Now()
		// A fresh command each time: valkey-go recycles it after Receive.
		err := f.c.Receive(ctx, f.c.B().Ssubscribe().Channel(sub.topic).Build(), onMessage)
		if sub.ctx.Err() != nil {
			return
		}
		// Warn once per outage, not at every attempt of every channel.
		level := slog.LevelDebug
		if time.Since(start) > 10*time.Second || backoff == 50*time.Millisecond {
			backoff, level = 50*time.Millisecond, slog.LevelWarn
		}
		wait := rand.N(backoff) + time.Millisecond
		f.log.Log(context.Background(), level, "valkey fan-out: subscription lost; subscribing again", "tenant", sub.tenant,
			"channel", sub.channel.Name, "retry_in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-sub.ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// The pub/sub payload of a publication, written by storeAppendScript:
//
//	"1 " epoch " " offset " " time (unix ms) "\n" data
//
// A text header in front of the data as it was appended, so that no node
// re-encodes data.

// decodePayload builds the publication a pub/sub message carries.
func decodePayload(ch wire.Channel, msg string) (*state.Publication, error) {
	head, data, ok := strings.Cut(msg, "\n")
	if !ok {
		return nil, errBadPayload
	}
	version, rest, ok := strings.Cut(head, " ")
	if !ok || version != "1" {
		return nil, errBadPayload
	}
	epoch, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return nil, errBadPayload
	}
	offS, msS, ok := strings.Cut(rest, " ")
	if !ok {
		return nil, errBadPayload
	}
	off, err := strconv.ParseUint(offS, 10, 64)
	if err != nil {
		return nil, errBadPayload
	}
	ms, err := strconv.ParseInt(msS, 10, 64)
	if err != nil {
		return nil, errBadPayload
	}
	b := []byte(data)
	return state.NewPublication(ch.Name, epoch, off, b, decodeReading(ch.Kind, b), time.UnixMilli(ms)), nil
}
