package valkey

import (
	"context"
	"encoding/json"
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

	"github.com/mqlive/mqlive/bridge/cluster"
)

// ControlQueue is how many received control messages wait for the handler
// before further ones are dropped (and logged). Control messages are rare;
// a full queue means the handler blocks, which it must not.
const ControlQueue = 1024

// revokeScript records the revocations in ARGV[2..] (pairs jti, until unix
// ms; a later until wins), drops those that ended by ARGV[1] (unix ms) and
// returns what remains as field, value pairs. KEYS: revocations.
var revokeScript = valkey.NewLuaScript(`
local now = tonumber(ARGV[1])
for i = 2, #ARGV - 1, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') or 0
  if tonumber(ARGV[i + 1]) > cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local h = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #h, 2 do
  if (tonumber(h[i + 1]) or 0) <= now then
    redis.call('HDEL', KEYS[1], h[i])
  else
    out[#out + 1] = h[i]
    out[#out + 1] = h[i + 1]
  end
end
return out
`)

// signOutScript records the sign-outs in ARGV[2..] (triples key, not
// before unix ms, until unix ms; the later of each wins), drops those that
// ended by ARGV[1] (unix ms) and returns what remains as field, value
// pairs, values "<not before>:<until>". KEYS: sign-outs.
var signOutScript = valkey.NewLuaScript(`
local now = tonumber(ARGV[1])
for i = 2, #ARGV - 2, 3 do
  local nbf, untl = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local cn, cu = string.match(cur, '^(%d+):(%d+)$')
    if cn and tonumber(cn) > nbf then nbf = tonumber(cn) end
    if cu and tonumber(cu) > untl then untl = tonumber(cu) end
  end
  redis.call('HSET', KEYS[1], ARGV[i], string.format('%d:%d', nbf, untl))
end
local h = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #h, 2 do
  local _, u = string.match(h[i + 1], '^(%d+):(%d+)$')
  if (tonumber(u) or 0) <= now then
    redis.call('HDEL', KEYS[1], h[i])
  else
    out[#out + 1] = h[i]
    out[#out + 1] = h[i + 1]
  end
end
return out
`)

// signOuts is the hash tenant/user → "<not before>:<until>" (unix ms). It
// shares the {control} hash tag with the revocations.
func (k keyNames) signOuts() string { return k.p + "{control}:s" }

// Control is the cluster's control channel and token revocation list in
// Valkey. Send publishes a JSON cluster.ControlMessage with SPUBLISH on
// {control} (sharded pub/sub: the same code path on a standalone server,
// Sentinel and a Cluster); Run subscribes to it and hands every message,
// the node's own included, to the handler. Revocations are also kept in
// the hash {control}:r (jti → until, unix ms) and in memory: Run loads the
// hash after every (re)subscription, merging it with what this node
// already knows and writing back what the server lost (a restarted server
// without persistence), so Revoked answers from memory and nodes that
// start later refuse revoked tokens too. Sign-outs (a per-user "not valid
// before" time) are kept the same way in {control}:s, tenant/user →
// "<not before>:<until>" (unix ms), and expire at their until.
//
// Control is safe for concurrent use. The handler is called from one
// goroutine started by Run, one message at a time, in the order received;
// it must not block: ControlQueue messages wait for it, further ones are
// dropped and logged. Nothing blocks inside valkey-go's Receive callback.
//
// Lock order: mu and smu are never held together.
type Control struct {
	c     valkey.Client
	k     keyNames
	h     cluster.ControlHandler
	log   *slog.Logger
	queue chan cluster.ControlMessage
	// reload asks the reloader to load the revocations (capacity 1).
	reload  chan struct{}
	running atomic.Bool

	mu       sync.RWMutex
	revoked  map[string]time.Time       // jti → until
	signouts map[string]cluster.SignOut // tenant/user → sign-out

	smu        sync.Mutex
	gen        uint64 // bumped whenever the subscription starts or ends
	subscribed bool
	ready      bool
}

var _ cluster.Control = (*Control)(nil)

// NewControl returns the control channel under prefix ("" means
// "mqlive:") that hands messages to h (which must not block) once Run
// runs. log nil means slog.Default().
func NewControl(c valkey.Client, prefix string, h cluster.ControlHandler, log *slog.Logger) *Control {
	if log == nil {
		log = slog.Default()
	}
	if h == nil {
		h = func(cluster.ControlMessage) {}
	}
	return &Control{c: c, k: newKeyNames(prefix), h: h, log: log,
		queue: make(chan cluster.ControlMessage, ControlQueue), reload: make(chan struct{}, 1),
		revoked: make(map[string]time.Time), signouts: make(map[string]cluster.SignOut)}
}

// Send delivers m to every node running Run, this one included. A
// revocation (Kind cluster.ControlRevoke with a JTI and an Until in the
// future) is first recorded in this node's memory and in Valkey, so it
// holds here at once and on nodes that start later.
func (c *Control) Send(ctx context.Context, m cluster.ControlMessage) error {
	if m.Kind == "" {
		return errors.New("valkey control send: empty kind")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("valkey control send %s: %w", m.Kind, err)
	}
	if m.Kind == cluster.ControlRevoke && m.JTI != "" && m.Until.After(time.Now()) {
		c.remember(m.JTI, m.Until)
		args := []string{strconv.FormatInt(time.Now().UnixMilli(), 10), m.JTI, strconv.FormatInt(m.Until.UnixMilli(), 10)}
		rest, err := revokeScript.Exec(ctx, c.c, []string{c.k.revocations()}, args).AsStrMap()
		if err != nil {
			return fmt.Errorf("valkey control send %s: %w", m.Kind, err)
		}
		c.merge(rest)
	}
	if m.Kind == cluster.ControlSignOut && !m.NotBefore.IsZero() && m.Until.After(time.Now()) {
		key := cluster.SignOutKey(m.Tenant, m.User)
		c.rememberSignOut(key, cluster.SignOut{NotBefore: m.NotBefore, Until: m.Until})
		args := []string{strconv.FormatInt(time.Now().UnixMilli(), 10), key,
			strconv.FormatInt(m.NotBefore.UnixMilli(), 10), strconv.FormatInt(m.Until.UnixMilli(), 10)}
		rest, err := signOutScript.Exec(ctx, c.c, []string{c.k.signOuts()}, args).AsStrMap()
		if err != nil {
			return fmt.Errorf("valkey control send %s: %w", m.Kind, err)
		}
		c.mergeSignOuts(rest)
	}
	if err := c.c.Do(ctx, c.c.B().Spublish().Channel(c.k.controlTopic()).Message(string(b)).Build()).Error(); err != nil {
		return fmt.Errorf("valkey control send %s: %w", m.Kind, err)
	}
	return nil
}

// Revoked reports whether the token with this jti is revoked and its
// revocation has not ended. It answers from memory.
func (c *Control) Revoked(jti string) bool {
	if jti == "" {
		return false
	}
	c.mu.RLock()
	u, ok := c.revoked[jti]
	c.mu.RUnlock()
	return ok && time.Now().Before(u)
}

// NotBefore returns the time of the latest sign-out of (tenant, user)
// still in force, zero when none. It answers from memory.
func (c *Control) NotBefore(tenant, user string) time.Time {
	c.mu.RLock()
	s, ok := c.signouts[cluster.SignOutKey(tenant, user)]
	c.mu.RUnlock()
	if !ok || !time.Now().Before(s.Until) {
		return time.Time{}
	}
	return s.NotBefore
}

// Ready reports whether the subscription is established and the
// revocations were loaded since; false while Valkey is unreachable.
func (c *Control) Ready() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.ready
}

// Load merges the revocation hash into memory and writes back the
// revocations this node knows that the hash lacks; it drops ended ones on
// both sides. Run calls it after every (re)subscription; call it directly
// to refuse revoked tokens before Run is ready.
func (c *Control) Load(ctx context.Context) error {
	now := time.Now()
	args := []string{strconv.FormatInt(now.UnixMilli(), 10)}
	c.mu.Lock()
	for jti, u := range c.revoked {
		if !now.Before(u) {
			delete(c.revoked, jti)
			continue
		}
		args = append(args, jti, strconv.FormatInt(u.UnixMilli(), 10))
	}
	c.mu.Unlock()
	m, err := revokeScript.Exec(ctx, c.c, []string{c.k.revocations()}, args).AsStrMap()
	if err != nil {
		return fmt.Errorf("valkey control load revocations: %w", err)
	}
	c.merge(m)

	args = []string{strconv.FormatInt(now.UnixMilli(), 10)}
	c.mu.Lock()
	for key, s := range c.signouts {
		if !now.Before(s.Until) {
			delete(c.signouts, key)
			continue
		}
		args = append(args, key, strconv.FormatInt(s.NotBefore.UnixMilli(), 10), strconv.FormatInt(s.Until.UnixMilli(), 10))
	}
	c.mu.Unlock()
	m, err = signOutScript.Exec(ctx, c.c, []string{c.k.signOuts()}, args).AsStrMap()
	if err != nil {
		return fmt.Errorf("valkey control load sign-outs: %w", err)
	}
	c.mergeSignOuts(m)
	return nil
}

// rememberSignOut records a sign-out, keeping the later times, and drops
// ended ones.
func (c *Control) rememberSignOut(key string, s cluster.SignOut) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, o := range c.signouts {
		if !now.Before(o.Until) {
			delete(c.signouts, k)
		}
	}
	if now.Before(s.Until) {
		c.signouts[key] = c.signouts[key].Merge(s)
	}
}

// mergeSignOuts records the sign-outs of a key → "nbf:until" (unix ms) map.
func (c *Control) mergeSignOuts(m map[string]string) {
	for key, v := range m {
		nbf, until, ok := strings.Cut(v, ":")
		if !ok {
			continue
		}
		n, err1 := strconv.ParseInt(nbf, 10, 64)
		u, err2 := strconv.ParseInt(until, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		c.rememberSignOut(key, cluster.SignOut{NotBefore: time.UnixMilli(n), Until: time.UnixMilli(u)})
	}
}

// remember records jti as revoked until, keeping the later until, and
// drops ended revocations.
func (c *Control) remember(jti string, until time.Time) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, u := range c.revoked {
		if !now.Before(u) {
			delete(c.revoked, k)
		}
	}
	if until.After(c.revoked[jti]) {
		c.revoked[jti] = until
	}
}

// merge records the revocations of a jti → until-ms map.
func (c *Control) merge(m map[string]string) {
	for jti, v := range m {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		c.remember(jti, time.UnixMilli(ms))
	}
}

// Run subscribes to the control channel and hands messages to the handler
// until ctx ends; it then returns nil after its goroutines have stopped.
// When the subscription drops (connection lost, server restarted, slot
// moved) it subscribes again with backoff and reloads the revocations;
// Ready is false meanwhile. Call it once.
func (c *Control) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("valkey control: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Add(2)
	go func() { defer wg.Done(); c.dispatch(ctx) }()
	go func() { defer wg.Done(); c.reloader(ctx) }()

	topic := c.k.controlTopic()
	// valkey-go's Receive reconnects and subscribes again by itself after
	// a connection loss; the hooks see each confirmation (reload the
	// revocations) and each loss (not ready until then).
	hookCtx := valkey.WithOnReceiveReturnHook(valkey.WithOnSubscriptionHook(ctx, c.onSubscription),
		func(err error, _ valkey.CommandClient) error {
			if c.setSubscribed(false) && ctx.Err() == nil {
				c.log.Warn("valkey control subscription lost; resubscribing", "topic", topic, "error", err)
			}
			return err
		})
	const minBackoff, maxBackoff = 100 * time.Millisecond, 3 * time.Second
	backoff := minBackoff
	for {
		gen := c.generation()
		err := c.c.Receive(hookCtx, c.c.B().Ssubscribe().Channel(topic).Build(), c.onMessage)
		c.setSubscribed(false)
		if ctx.Err() != nil {
			return nil
		}
		if c.generation() != gen {
			// The subscription was up: start backoff over.
			backoff = minBackoff
		}
		wait := rand.N(backoff) + time.Millisecond
		c.log.Warn("valkey control subscription ended; subscribing again", "topic", topic,
			"retry_in", wait.Round(time.Millisecond), "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// onSubscription runs on valkey-go's connection goroutine: it only
// records the state and wakes the reloader.
func (c *Control) onSubscription(s valkey.PubSubSubscription) {
	switch s.Kind {
	case "ssubscribe":
		c.setSubscribed(true)
		select {
		case c.reload <- struct{}{}:
		default:
		}
	case "sunsubscribe":
		c.setSubscribed(false)
	}
}

// onMessage runs on valkey-go's connection goroutine: it decodes, records
// a revocation in memory and queues the message without blocking.
func (c *Control) onMessage(msg valkey.PubSubMessage) {
	var m cluster.ControlMessage
	if err := json.Unmarshal([]byte(msg.Message), &m); err != nil {
		c.log.Warn("valkey control: undecodable message dropped", "error", err)
		return
	}
	if m.Kind == cluster.ControlRevoke && m.JTI != "" {
		c.remember(m.JTI, m.Until)
	}
	if m.Kind == cluster.ControlSignOut && !m.NotBefore.IsZero() {
		c.rememberSignOut(cluster.SignOutKey(m.Tenant, m.User), cluster.SignOut{NotBefore: m.NotBefore, Until: m.Until})
	}
	select {
	case c.queue <- m:
	default:
		c.log.Error("valkey control: handler queue full; message dropped (the control handler must not block)",
			"kind", m.Kind, "from", m.From)
	}
}

// dispatch hands queued messages to the handler until ctx ends.
func (c *Control) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-c.queue:
			c.h(m)
		}
	}
}

// reloader loads the revocations whenever a subscription is confirmed,
// retrying with backoff, and then marks the control ready.
func (c *Control) reloader(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.reload:
		}
		gen := c.generation()
		backoff := 100 * time.Millisecond
		for {
			err := c.Load(ctx)
			if err == nil {
				c.smu.Lock()
				if c.gen == gen && c.subscribed {
					c.ready = true
				}
				c.smu.Unlock()
				break
			}
			if ctx.Err() != nil {
				return
			}
			if c.generation() != gen {
				break // the subscription changed; a new signal follows if it is back
			}
			wait := rand.N(backoff) + time.Millisecond
			c.log.Warn("valkey control: loading revocations failed; retrying", "retry_in", wait.Round(time.Millisecond), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			backoff = min(backoff*2, 3*time.Second)
		}
	}
}

// setSubscribed records that the subscription started (again) or ended,
// and reports whether that changed anything. Either way the revocations
// must be loaded again before the control is ready.
func (c *Control) setSubscribed(on bool) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if !on && !c.subscribed {
		return false
	}
	c.gen++
	c.subscribed, c.ready = on, false
	return true
}

func (c *Control) generation() uint64 {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.gen
}
