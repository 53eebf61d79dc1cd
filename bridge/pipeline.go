package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// handleMessage is the ingest pipeline for one MQTT message: route it to
// its source, claim it (cluster) or drop a QoS 1 redelivery, decode it,
// merge and publish every Reading through the fan-out. It runs on the
// ingest goroutine, one message at a time, and never blocks on a client;
// it waits for the backplane (retrying) rather than drop a message.
func (b *Bridge) handleMessage(m devices.Message) {
	// Mounts were built in source order, so the index is the source.
	idx, ok := b.router.LookupIndex(m.Topic)
	if !ok {
		b.metrics.IngestMessages.WithLabelValues("none", "none", "rejected").Inc()
		b.metrics.IngestRejected.WithLabelValues("none", "none", devices.ReasonNoHandler).Inc()
		return
	}
	src := &b.sources[idx]
	family := src.handler.Family()
	ctx := b.pipeCtx
	key, mine := b.claim(ctx, idx, src, family, m)
	if !mine {
		return
	}
	b.process(ctx, idx, src, m)
	if key != "" {
		b.claimDone(ctx, key)
	}
}

// process decodes m and merges and publishes its Readings.
func (b *Bridge) process(ctx context.Context, idx int, src *source, m devices.Message) {
	family := src.handler.Family()
	start := time.Now()
	readings, err := safeDecode(src.handler, src.base, m)
	b.metrics.IngestDecode.WithLabelValues(family).Observe(time.Since(start).Seconds())
	if err == nil {
		err = checkReadings(readings, family)
	}
	verdict, reason := devices.Verdict(err)
	b.metrics.IngestMessages.WithLabelValues(family, src.tenant, verdict).Inc()
	shown := m
	if devices.DeviceIDReason(reason) {
		// The topic carries the refused id: escaped (control and bidi
		// characters as \u…) in the log line and on the monitor.
		shown.Topic = strconv.QuoteToASCII(m.Topic)
	}
	if reason != "" {
		b.metrics.IngestRejected.WithLabelValues(family, src.tenant, reason).Inc()
		b.hooks.Rejected(src.tenant, family, src.base, reason)
		b.log.Debug("message rejected", "topic", shown.Topic, "family", family, "reason", reason, "err", err)
	}
	// A message of a TTS tenant the source does not accept is counted,
	// never shown on this tenant's monitor: its topic and payload belong
	// to someone else.
	if reason != devices.ReasonForeignTenant {
		b.monitor(ctx, src.tenant, family, shown, verdict, reason, err, len(readings))
	}
	if err != nil {
		return
	}
	for i := range readings {
		r := &readings[i]
		if len(src.tags) > 0 {
			if r.Tags == nil {
				r.Tags = make(map[string]string, len(src.tags))
			}
			for k, v := range src.tags {
				r.Tags[k] = v
			}
		}
		r.Stale = false
		// The device id is owned by the source's stable key (family and
		// base), not by its index, which shifts when the configuration
		// changes (state.SourceKey).
		avail := b.availabilityChange(ctx, src.tenant, r, m.Retained)
		meta := state.Meta{Source: idx, SourceKey: src.key, StaleAfter: src.staleAfter, Tags: src.tags, Topic: m.Topic}
		err := b.retry(ctx, "apply", func(ctx context.Context) error { return b.bp.store.Apply(ctx, src.tenant, r, meta) })
		// Limits: a refused Reading (device_limit, identity_conflict) is
		// counted as rejected; one merged without the fields or tags the
		// limits refused (field_limit, tag_limit) is counted and published.
		reasons, merged := state.LimitReasons(err)
		for _, reason := range reasons {
			if merged {
				b.metrics.StateLimited.WithLabelValues(src.tenant, reason).Inc()
			} else {
				b.metrics.IngestRejected.WithLabelValues(family, src.tenant, reason).Inc()
				b.hooks.Rejected(src.tenant, family, src.base, reason)
			}
		}
		if !merged {
			continue // refused, or shutting down
		}
		b.sendAvailability(avail)
		b.publishReading(ctx, src.tenant, r)
		b.coordinatorChange(ctx, src, family, r)
	}
}

// claim decides whether this node processes m, and returns the message's
// claim key when it must be marked done afterwards. On one node, and with
// shared subscriptions, only a QoS 1 redelivery (DUP flag) of a message
// taken within the window is dropped. In cluster ingest mode "lock" every
// node receives every message and the first to claim it processes it; the
// others keep their copy until it is done (claims.go).
func (b *Bridge) claim(ctx context.Context, idx int, src *source, family string, m devices.Message) (string, bool) {
	cl := b.cfg.Cluster
	if b.broker != nil {
		// Inline delivery from the embedded broker has no redelivery: no
		// message comes flagged DUP (ingest.Inline), so the window, which
		// only ever suppresses a flagged one, would record every message
		// (hash, map entry, up to dedupSize of them) for nothing.
		return "", true
	}
	if cl.Backplane != BackplaneValkey {
		if b.dedup.Duplicate(m.Topic, m.Payload, m.Duplicate, m.ReceivedAt) {
			b.metrics.DedupSuppressed.WithLabelValues(family, src.tenant).Inc()
			return "", false
		}
		return "", true
	}
	key := messageKey(src.tenant, m)
	if cl.Ingest == IngestShared {
		var first bool
		err := b.retry(ctx, "claim", func(ctx context.Context) (err error) {
			first, err = b.bp.dedup.Claim(ctx, key, dedupWindow)
			return err
		})
		if err != nil {
			return "", false // shutting down
		}
		if !first && m.Duplicate {
			b.metrics.DedupSuppressed.WithLabelValues(family, src.tenant).Inc()
			return "", false
		}
		return "", true // new, or the same payload again (not a redelivery)
	}
	var (
		mine  bool
		owner string
	)
	err := b.retry(ctx, "claim", func(ctx context.Context) (err error) {
		owner, mine, err = b.bp.claims.Claim(ctx, key, b.cfg.Node, claimLease)
		return err
	})
	if err != nil {
		return "", false // shutting down
	}
	if !mine {
		b.metrics.IngestClaimedElsewhere.WithLabelValues(family, src.tenant).Inc()
		if owner != "" { // not done yet: keep a copy until it is
			b.watch.add(watchedClaim{key: key, idx: idx, m: m, owner: owner})
		}
		// Decoders with state (Sparkplug births and aliases, Home
		// Assistant discovery, Homie attributes) must see every message
		// of their source, or this node could not decode the next one it
		// claims: decode, and drop the result. This is the "ingest work ×
		// nodes" of ingest mode lock.
		_, _ = safeDecode(src.handler, src.base, m)
		return "", false
	}
	return key, true
}

// messageKey is a message's identity across nodes: its tenant, topic and
// payload (MQTT packet ids are per connection, so they cannot be it).
func messageKey(tenant string, m devices.Message) string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(m.Topic))
	h.Write([]byte{0})
	h.Write(m.Payload)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// safeDecode turns a decoder panic into a rejection: bad input must never
// crash a node (ARCHITECTURE.md "Reliability rules"). devices.Decode
// refuses device ids that must not reach a dashboard (devices.CheckDeviceID).
func safeDecode(h devices.Handler, base string, m devices.Message) (rs []devices.Reading, err error) {
	defer func() {
		if p := recover(); p != nil {
			rs, err = nil, devices.Reject(devices.ReasonInvalidPayload, "decoder panic: %v", p)
		}
	}()
	return devices.Decode(h, base, m)
}

// checkReadings enforces what every Reading must satisfy before it can be
// published, whatever the decoder: an id within bounds, the right family,
// finite numbers.
func checkReadings(rs []devices.Reading, family string) error {
	for i := range rs {
		r := &rs[i]
		if r.Device == "" || len(r.Device) > maxDeviceID || !utf8.ValidString(r.Device) {
			return devices.Reject(devices.ReasonInvalidTopic, "device id is empty, longer than %d bytes or not UTF-8", maxDeviceID)
		}
		r.Family = family
		for k, v := range r.Metrics {
			switch x := v.(type) {
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return devices.Reject(devices.ReasonInvalidNumber, "metric %s is not finite", k)
				}
			case bool:
			default:
				return devices.Reject(devices.ReasonInvalidPayload, "metric %s is %T, not a number or bool", k, v)
			}
		}
	}
	return nil
}

// readingBufs are scratch buffers for marshalReading.
var readingBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// marshalReading is json.Marshal(r), byte for byte (wire.AppendReading),
// at a fraction of its cost. The result is an exact-size copy: histories
// keep it for as long as the device's channel holds the publication.
func marshalReading(r *devices.Reading) ([]byte, error) {
	bp := readingBufs.Get().(*[]byte)
	buf, err := wire.AppendReading((*bp)[:0], r)
	var data []byte
	if err == nil {
		data = append([]byte(nil), buf...)
	}
	if cap(buf) <= 64<<10 { // one huge Reading does not pin its buffer
		*bp = buf
		readingBufs.Put(bp)
	}
	return data, err
}

// readingChannels appends to dst the channels a Reading is published to:
// devices, its device channel and one per tag.
func readingChannels(dst []wire.Channel, r *devices.Reading) []wire.Channel {
	dst = append(dst, wire.Channel{Name: "devices", Kind: wire.KindDevices},
		wire.Channel{Name: wire.DeviceChannel(r.Device), Kind: wire.KindDevice, Arg: wire.EscapeID(r.Device)})
	for k, v := range r.Tags {
		dst = append(dst, wire.Channel{Name: wire.TagChannel(k, v), Kind: wire.KindTag, TagKey: wire.EscapeID(k), TagValue: wire.EscapeID(v)})
	}
	return dst
}

// publishReading publishes a Reading to every channel that covers its
// device, through the fan-out: every node, this one included, delivers it
// from its fan-out subscription.
func (b *Bridge) publishReading(ctx context.Context, tenant string, r *devices.Reading) {
	data, err := marshalReading(r)
	if err != nil {
		b.log.Error("marshal reading", "device", r.Device, "err", err)
		return
	}
	var room [4]wire.Channel // devices, the device and two tags, on the stack
	chans := readingChannels(room[:0], r)
	if b.mem != nil || len(chans) == 1 {
		for _, ch := range chans {
			b.publishTo(ctx, tenant, ch, data, r)
		}
		return
	}
	// Channels are independent: in a cluster their appends go to Valkey at
	// once (valkey-go pipelines them), one round trip for all instead of
	// one after the other. Each channel's own order is kept: a lane
	// publishes one Reading after the other.
	var wg sync.WaitGroup
	for _, ch := range chans[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); b.publishTo(ctx, tenant, ch, data, r) }()
	}
	b.publishTo(ctx, tenant, chans[0], data, r)
	wg.Wait()
}

// publishTo publishes one Reading's data to one channel, retrying while
// the backplane is away, and counts it.
func (b *Bridge) publishTo(ctx context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) {
	err := b.retry(ctx, "publish", func(ctx context.Context) error {
		_, err := b.bp.fanout.Publish(ctx, tenant, ch, data, r)
		return err
	})
	if err == nil {
		b.metrics.Publications.WithLabelValues(string(ch.Kind)).Inc()
	}
}
