package valkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// StoreOptions sizes the Valkey store. Every node of a cluster must use the
// same values.
type StoreOptions struct {
	// HistorySize is the number of publications kept per channel; default
	// 1000.
	HistorySize int
	// DeviceHistorySize bounds each device:<id> channel; default
	// min(100, HistorySize).
	DeviceHistorySize int
	// HistoryTTL: older publications are not recoverable, and a channel's
	// stream expires this long after its last publication; default 10m.
	HistoryTTL time.Duration
	// MetaTTL is how long a channel's epoch and offset outlive its last
	// publication; default 7 days. Once they expire the next publication
	// starts a new epoch, so clients that resume get a snapshot.
	MetaTTL time.Duration
	// MaxDevices per tenant; default 100000.
	MaxDevices int
	// MaxChannelBytes bounds the data bytes of one channel's stream (the
	// newest publication is always kept); default 1 MiB.
	MaxChannelBytes int64
	// MaxChannels bounds the channels of a tenant; default 200000 (see
	// state.Config.MaxChannels). A new channel past it evicts the tenant's
	// oldest channels (by creation: a publication costs one round trip and
	// does not touch the tenant's index), so a tenant's history is bounded
	// by MaxChannels × MaxChannelBytes.
	MaxChannels int
	// OnEvict, when set, is called for every channel evicted by
	// MaxChannels, with the tenant and the reason "channel_limit".
	OnEvict func(tenant, reason string)
	// MaxDeviceFields bounds the metrics plus attrs of one device; default
	// 256 (see state.Config.MaxDeviceFields).
	MaxDeviceFields int
	// MaxTagChannels bounds the distinct tag pairs of a tenant's devices;
	// default 1000 (see state.Config.MaxTagChannels).
	MaxTagChannels int
	// IdentityTTL is how long a device id stays owned by its source after
	// the device was last heard; default 24h (see state.Config.IdentityTTL).
	IdentityTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *StoreOptions) defaults() {
	if o.HistorySize <= 0 {
		o.HistorySize = 1000
	}
	if o.DeviceHistorySize <= 0 {
		o.DeviceHistorySize = min(100, o.HistorySize)
	}
	if o.HistoryTTL <= 0 {
		o.HistoryTTL = 10 * time.Minute
	}
	if o.MetaTTL <= 0 {
		o.MetaTTL = 7 * 24 * time.Hour
	}
	if o.MaxDevices <= 0 {
		o.MaxDevices = 100000
	}
	if o.MaxChannels <= 0 {
		o.MaxChannels = state.DefaultMaxChannels
	}
	if o.MaxChannelBytes <= 0 {
		o.MaxChannelBytes = state.DefaultMaxChannelBytes
	}
	if o.MaxDeviceFields <= 0 {
		o.MaxDeviceFields = state.DefaultMaxDeviceFields
	}
	if o.MaxTagChannels <= 0 {
		o.MaxTagChannels = state.DefaultMaxTagChannels
	}
	if o.IdentityTTL <= 0 {
		o.IdentityTTL = state.DefaultIdentityTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is the state.Store a cluster shares: channel histories in streams
// with their epoch and offset in a hash, and device state in hashes (see
// the package documentation for the key layout). It is safe for concurrent
// use and keeps nothing in memory; every node sees the same state.
type Store struct {
	c   valkey.Client
	k   keyNames
	opt StoreOptions
}

var _ state.Store = (*Store)(nil)

// NewStore returns a store on client c under the key prefix ("" means
// "mqlive:"). It does no I/O.
func NewStore(c valkey.Client, prefix string, opt StoreOptions) *Store {
	opt.defaults()
	return &Store{c: c, k: newKeyNames(prefix), opt: opt}
}

// snapshotBatch is how many device hashes one pipeline reads.
const snapshotBatch = 500

// sweepBatch is how many devices one sweep script marks.
const sweepBatch = 1000

// newEpoch returns a random epoch id, 12 hex digits like the memory store.
func newEpoch() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) historySize(ch wire.Channel) int {
	if ch.Kind == wire.KindDevice {
		return s.opt.DeviceHistorySize
	}
	return s.opt.HistorySize
}

// readingKind reports whether a channel's data is a devices.Reading.
func readingKind(k wire.Kind) bool {
	return k == wire.KindDevices || k == wire.KindDevice || k == wire.KindTag
}

func msString(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

// Append implements state.Store: one EVALSHA that assigns the offset,
// appends to the stream and publishes on the channel's topic. r is kept
// on the returned publication as is.
func (s *Store) Append(ctx context.Context, tenant string, ch wire.Channel, data []byte, r *devices.Reading) (*state.Publication, error) {
	ms := s.opt.Now().UnixMilli()
	res := storeAppendScript.Exec(ctx, s.c,
		[]string{s.k.meta(tenant, ch.Name), s.k.stream(tenant, ch.Name)},
		[]string{s.k.topic(tenant, ch.Name), newEpoch(), strconv.FormatInt(ms, 10), valkey.BinaryString(data),
			strconv.Itoa(s.historySize(ch)), msString(s.opt.HistoryTTL), msString(s.opt.MetaTTL),
			strconv.FormatInt(s.opt.MaxChannelBytes, 10)})
	arr, err := res.ToArray()
	if err == nil && len(arr) != 3 {
		err = fmt.Errorf("unexpected reply of %d elements", len(arr))
	}
	var (
		epoch        string
		off, created int64
	)
	if err == nil {
		epoch, err = arr[0].ToString()
	}
	if err == nil {
		off, err = arr[1].AsInt64()
	}
	if err == nil {
		created, err = arr[2].AsInt64()
	}
	if err != nil {
		return nil, fmt.Errorf("valkey: append %s: %w", ch.Name, err)
	}
	if created == 1 {
		// A new channel: rare, so the tenant's channel index costs a round
		// trip only here. The publication is made whatever happens to this
		// bookkeeping (failing now would make the caller append it twice);
		// a channel missing from the index still expires with its TTL.
		_ = s.registerChannel(ctx, tenant, ch.Name, ms)
	}
	return state.NewPublication(ch.Name, epoch, uint64(off), data, r, time.UnixMilli(ms)), nil
}

// registerChannel records a new channel in its tenant's index and evicts
// the tenant's oldest channels past MaxChannels.
func (s *Store) registerChannel(ctx context.Context, tenant, channel string, ms int64) error {
	evicted, err := storeChannelsScript.Exec(ctx, s.c, []string{s.k.channels(tenant)},
		[]string{channel, strconv.FormatInt(ms, 10), msString(s.opt.MetaTTL), strconv.Itoa(s.opt.MaxChannels)}).AsStrSlice()
	if err != nil {
		return fmt.Errorf("valkey: register channel %s: %w", channel, err)
	}
	for _, old := range evicted {
		// Meta and stream share the channel's hash tag: one DEL.
		if err := s.c.Do(ctx, s.c.B().Del().Key(s.k.meta(tenant, old), s.k.stream(tenant, old)).Build()).Error(); err != nil {
			return fmt.Errorf("valkey: evict channel %s: %w", old, err)
		}
		if s.opt.OnEvict != nil {
			s.opt.OnEvict(tenant, "channel_limit")
		}
	}
	return nil
}

// Position implements state.Store. A channel without meta (never published
// to, or expired) has the empty epoch and offset 0; reading it creates
// nothing.
func (s *Store) Position(ctx context.Context, tenant string, ch wire.Channel) (wire.StreamPosition, error) {
	vs, err := s.c.Do(ctx, s.c.B().Hmget().Key(s.k.meta(tenant, ch.Name)).Field("epoch", "offset").Build()).ToArray()
	if err == nil && len(vs) != 2 {
		err = fmt.Errorf("unexpected reply of %d elements", len(vs))
	}
	if err != nil {
		return wire.StreamPosition{}, fmt.Errorf("valkey: position %s: %w", ch.Name, err)
	}
	var pos wire.StreamPosition
	if !vs[0].IsNil() {
		pos.Epoch, _ = vs[0].ToString()
		off, _ := vs[1].AsInt64()
		pos.Offset = uint64(max(off, 0))
	}
	return pos, nil
}

// Since implements state.Store in one atomic script: the position and the
// publications after pos, or ok=false when the epoch differs, the stream no
// longer holds pos.Offset+1, or one of them is older than HistoryTTL.
func (s *Store) Since(ctx context.Context, tenant string, ch wire.Channel, pos wire.StreamPosition) ([]*state.Publication, wire.StreamPosition, bool, error) {
	now := s.opt.Now()
	res := storeSinceScript.Exec(ctx, s.c,
		[]string{s.k.meta(tenant, ch.Name), s.k.stream(tenant, ch.Name)},
		[]string{pos.Epoch, strconv.FormatUint(pos.Offset, 10), strconv.FormatInt(now.UnixMilli(), 10), msString(s.opt.HistoryTTL)})
	cur, ok, pubs, err := parseEntries(res, ch)
	if err != nil {
		return nil, wire.StreamPosition{}, false, fmt.Errorf("valkey: since %s: %w", ch.Name, err)
	}
	if !ok {
		pubs = nil
	}
	return pubs, cur, ok, nil
}

// History implements state.Store with the semantics of the memory store's
// query: offset and time bounds, a limit, forward or reverse pages, and
// completeness.
func (s *Store) History(ctx context.Context, tenant string, ch wire.Channel, q state.HistoryQuery) (state.HistoryPage, error) {
	if q.Limit <= 0 || q.Limit > wire.MaxHistoryLimit {
		q.Limit = wire.MaxHistoryLimit
	}
	hasSince, sinceEpoch, sinceOff := "0", "", "0"
	if q.Since != nil {
		hasSince, sinceEpoch, sinceOff = "1", q.Since.Epoch, strconv.FormatUint(q.Since.Offset, 10)
	}
	from, until := "", ""
	if !q.From.IsZero() {
		// Entries at or after From: the first whole ms not before it.
		ms := q.From.UnixMilli()
		if time.UnixMilli(ms).Before(q.From) {
			ms++
		}
		from = strconv.FormatInt(ms, 10)
	}
	if !q.Until.IsZero() {
		// Entries at or before Until: the last whole ms not after it.
		ms := q.Until.UnixMilli()
		if time.UnixMilli(ms).After(q.Until) {
			ms--
		}
		until = strconv.FormatInt(ms, 10)
	}
	reverse := "0"
	if q.Reverse {
		reverse = "1"
	}
	res := storeHistoryScript.Exec(ctx, s.c,
		[]string{s.k.meta(tenant, ch.Name), s.k.stream(tenant, ch.Name)},
		[]string{hasSince, sinceEpoch, sinceOff, strconv.FormatUint(q.Before, 10), from, until, strconv.Itoa(q.Limit), reverse,
			strconv.FormatInt(s.opt.Now().UnixMilli(), 10), msString(s.opt.HistoryTTL)})
	pos, complete, pubs, err := parseEntries(res, ch)
	if err != nil {
		return state.HistoryPage{}, fmt.Errorf("valkey: history %s: %w", ch.Name, err)
	}
	return state.HistoryPage{Publications: pubs, Epoch: pos.Epoch, Offset: pos.Offset, Complete: complete}, nil
}

// parseEntries reads a {epoch, offset, flag, id, t, d, ...} script reply.
func parseEntries(res valkey.ValkeyResult, ch wire.Channel) (wire.StreamPosition, bool, []*state.Publication, error) {
	var pos wire.StreamPosition
	arr, err := res.ToArray()
	if err != nil {
		return pos, false, nil, err
	}
	if len(arr) < 3 || (len(arr)-3)%3 != 0 {
		return pos, false, nil, fmt.Errorf("unexpected reply of %d elements", len(arr))
	}
	if pos.Epoch, err = arr[0].ToString(); err != nil {
		return pos, false, nil, err
	}
	off, err := arr[1].AsInt64()
	if err != nil {
		return pos, false, nil, err
	}
	pos.Offset = uint64(max(off, 0))
	flag, err := arr[2].AsInt64()
	if err != nil {
		return pos, false, nil, err
	}
	var pubs []*state.Publication
	if n := (len(arr) - 3) / 3; n > 0 {
		pubs = make([]*state.Publication, 0, n)
	}
	for i := 3; i < len(arr); i += 3 {
		id, err := arr[i].ToString()
		if err != nil {
			return pos, false, nil, err
		}
		offset, err := strconv.ParseUint(strings.TrimSuffix(id, "-1"), 10, 64)
		if err != nil {
			return pos, false, nil, fmt.Errorf("stream id %q: %w", id, err)
		}
		ms, err := arr[i+1].AsInt64()
		if err != nil {
			return pos, false, nil, err
		}
		data, err := arr[i+2].AsBytes()
		if err != nil {
			return pos, false, nil, err
		}
		pubs = append(pubs, state.NewPublication(ch.Name, pos.Epoch, offset, data, decodeReading(ch.Kind, data), time.UnixMilli(ms)))
	}
	return pos, flag == 1, pubs, nil
}

// decodeReading returns the Reading data encodes for the channel kinds
// whose data is one (hub conflation merges them), else nil.
func decodeReading(k wire.Kind, data []byte) *devices.Reading {
	if !readingKind(k) {
		return nil
	}
	r := new(devices.Reading)
	if json.Unmarshal(data, r) != nil {
		return nil
	}
	return r
}

// micros splits t into unix µs and the nanoseconds below, the pair the
// apply script compares.
func micros(t time.Time) (string, string) {
	return strconv.FormatInt(t.UnixMicro(), 10), strconv.Itoa(t.Nanosecond() % 1000)
}

// Apply implements state.Store with the merge rules of
// state.(*Tenant).Apply, in one script on the device's hash.
func (s *Store) Apply(ctx context.Context, tenant string, r *devices.Reading, meta state.Meta) error {
	now := s.opt.Now()
	ts, tsn := micros(r.TS)
	rcv, err := r.ReceivedAt.MarshalText()
	if err != nil {
		return fmt.Errorf("valkey: apply %s: received_at: %w", r.Device, err)
	}
	seen := now.UnixMicro()
	staleAfter := meta.StaleAfter.Microseconds()
	score := "+inf"
	if meta.StaleAfter > 0 {
		score = strconv.FormatInt(seen+staleAfter, 10)
	}
	online := ""
	if r.Online != nil {
		online = "0"
		if *r.Online {
			online = "1"
		}
	}
	// Tags from the Reading (those the configuration does not set, which
	// count against the tag limit), then from configuration, which wins.
	decoded := make(map[string]string, len(r.Tags))
	for k, v := range r.Tags {
		if cv, ok := meta.Tags[k]; !ok || cv != v {
			decoded[k] = v
		}
	}
	args := make([]string, 0, 19+2*(len(decoded)+len(meta.Tags)+len(r.Metrics)+len(r.Attrs)))
	args = append(args, r.Device, r.Family, ts, tsn, string(rcv), strconv.FormatInt(seen, 10),
		strconv.FormatInt(staleAfter, 10), strconv.Itoa(meta.Source), meta.Topic, online,
		strconv.Itoa(s.opt.MaxDevices), score, strconv.Itoa(2*len(decoded)), strconv.Itoa(2*(len(r.Metrics)+len(r.Attrs))),
		meta.SourceKey, strconv.FormatInt(s.opt.IdentityTTL.Microseconds(), 10),
		strconv.Itoa(s.opt.MaxDeviceFields), strconv.Itoa(s.opt.MaxTagChannels), strconv.Itoa(2*len(meta.Tags)))
	for k, v := range decoded {
		args = append(args, "t:"+k, v)
	}
	for k, v := range meta.Tags {
		args = append(args, "t:"+k, v)
	}
	for k, v := range r.Metrics {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("valkey: apply %s: metric %s: %w", r.Device, k, err)
		}
		args = append(args, "m:"+k, string(b))
	}
	for k, v := range r.Attrs {
		args = append(args, "a:"+k, v)
	}
	res, err := storeApplyScript.Exec(ctx, s.c, []string{s.k.device(tenant, r.Device), s.k.devices(tenant), s.k.tags(tenant), s.k.held(tenant)}, args).ToArray()
	var created, held int64
	if err == nil && len(res) == 0 {
		err = errors.New("empty reply")
	}
	if err == nil {
		created, err = res[0].AsInt64()
	}
	if err == nil && created >= 0 { // refusals ({-1}, {-2}) carry no more
		if len(res) < 2 {
			err = errors.New("short reply")
		} else {
			held, err = res[1].AsInt64()
		}
	}
	if err != nil {
		return fmt.Errorf("valkey: apply %s: %w", r.Device, err)
	}
	switch created {
	case -1:
		return state.ErrTooManyDevices
	case -2:
		return state.ErrIdentityConflict
	case 1:
		// The tenant set has no hash tag, so it cannot be in the script;
		// adding on every creation keeps it right after a flush.
		if err := s.c.Do(ctx, s.c.B().Sadd().Key(s.k.tenants()).Member(tenant).Build()).Error(); err != nil {
			return fmt.Errorf("valkey: apply %s: tenants: %w", r.Device, err)
		}
	}
	// Held by its source's coordinator: published stale, as the memory
	// store does.
	r.Stale = held == 1
	// Fields the limits refused leave the Reading too, so that what is
	// published matches the merged state (as the memory store does).
	var tagLimit, fieldLimit bool
	for _, v := range res[2:] {
		f, err := v.ToString()
		if err != nil || len(f) < 2 {
			return fmt.Errorf("valkey: apply %s: refused field: %v", r.Device, err)
		}
		switch name := f[2:]; f[:2] {
		case "t:":
			delete(r.Tags, name)
			tagLimit = true
		case "m:":
			delete(r.Metrics, name)
			fieldLimit = true
		case "a:":
			delete(r.Attrs, name)
			fieldLimit = true
		}
	}
	var errs []error
	if tagLimit {
		errs = append(errs, state.ErrTagLimit)
	}
	if fieldLimit {
		errs = append(errs, state.ErrFieldLimit)
	}
	return errors.Join(errs...)
}

// deviceState is a device hash decoded.
type deviceState struct {
	reading    devices.Reading
	lastSeen   time.Time
	staleAfter time.Duration
	source     int
	sourceKey  string
	topics     []string
	// held: the device's source coordinator is offline (HoldSource).
	held bool
}

// parseDevice decodes a device hash; ok is false for an empty one.
func parseDevice(h map[string]string) (deviceState, bool, error) {
	var d deviceState
	id, ok := h["id"]
	if !ok {
		return d, false, nil
	}
	r := &d.reading
	r.Device, r.Family = id, h["fam"]
	us, err := strconv.ParseInt(h["ts"], 10, 64)
	if err != nil {
		return d, false, fmt.Errorf("device %s: ts: %w", id, err)
	}
	ns, _ := strconv.Atoi(h["tsn"])
	r.TS = time.UnixMicro(us).Add(time.Duration(ns)).UTC()
	if v := h["rcv"]; v != "" {
		if err := r.ReceivedAt.UnmarshalText([]byte(v)); err != nil {
			return d, false, fmt.Errorf("device %s: received_at: %w", id, err)
		}
	}
	if v, ok := h["on"]; ok {
		on := v == "1"
		r.Online = &on
	}
	r.Stale = h["stale"] == "1"
	d.held = h["held"] == "1"
	seen, _ := strconv.ParseInt(h["seen"], 10, 64)
	d.lastSeen = time.UnixMicro(seen)
	sa, _ := strconv.ParseInt(h["sa"], 10, 64)
	d.staleAfter = time.Duration(sa) * time.Microsecond
	d.source, _ = strconv.Atoi(h["src"])
	d.sourceKey = h["sk"]
	if v := h["topics"]; v != "" {
		d.topics = strings.Split(v, "\x00")
	}
	for k, v := range h {
		switch {
		case strings.HasPrefix(k, "m:"):
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return d, false, fmt.Errorf("device %s: metric %s: %w", id, k[2:], err)
			}
			if r.Metrics == nil {
				r.Metrics = make(map[string]any)
			}
			r.Metrics[k[2:]] = x
		case strings.HasPrefix(k, "a:"):
			if r.Attrs == nil {
				r.Attrs = make(map[string]string)
			}
			r.Attrs[k[2:]] = v
		case strings.HasPrefix(k, "t:"):
			if r.Tags == nil {
				r.Tags = make(map[string]string)
			}
			r.Tags[k[2:]] = v
		}
	}
	return d, true, nil
}

// snapshot is the Reading with Stale evaluated at now, as the memory
// store's Device.Snapshot.
func (d *deviceState) snapshot(now time.Time) devices.Reading {
	r := d.reading
	r.Stale = d.held || (d.staleAfter > 0 && now.Sub(d.lastSeen) > d.staleAfter)
	return r
}

// Device implements state.Store.
func (s *Store) Device(ctx context.Context, tenant, id string) (state.DeviceInfo, bool, error) {
	h, err := s.c.Do(ctx, s.c.B().Hgetall().Key(s.k.device(tenant, id)).Build()).AsStrMap()
	if err != nil {
		return state.DeviceInfo{}, false, fmt.Errorf("valkey: device %s: %w", id, err)
	}
	d, ok, err := parseDevice(h)
	if err != nil || !ok {
		return state.DeviceInfo{}, false, err
	}
	return state.DeviceInfo{Reading: d.snapshot(s.opt.Now()), Source: d.source, SourceKey: d.sourceKey, Topics: d.topics}, true, nil
}

// Snapshot implements state.Store: the devices a channel covers, read with
// pipelined HGETALLs, with Stale evaluated now.
func (s *Store) Snapshot(ctx context.Context, tenant string, ch wire.Channel) ([]devices.Reading, error) {
	var (
		ids    []string
		filter func(*devices.Reading) bool
	)
	switch ch.Kind {
	case wire.KindDevice:
		ids = []string{wire.UnescapeID(ch.Arg)}
	case wire.KindDevices, wire.KindTag:
		if ch.Kind == wire.KindTag {
			// Only the canonical escape of a key names a tag channel.
			key := wire.UnescapeID(ch.TagKey)
			if wire.EscapeID(key) != ch.TagKey {
				return nil, nil
			}
			filter = func(r *devices.Reading) bool {
				v, ok := r.Tags[key]
				return ok && wire.EscapeID(v) == ch.TagValue
			}
		}
		var err error
		ids, err = s.c.Do(ctx, s.c.B().Zrange().Key(s.k.devices(tenant)).Min("0").Max("-1").Build()).AsStrSlice()
		if err != nil {
			return nil, fmt.Errorf("valkey: snapshot %s: %w", ch.Name, err)
		}
	default:
		return nil, nil
	}
	now := s.opt.Now()
	var out []devices.Reading
	if ch.Kind == wire.KindDevices {
		out = make([]devices.Reading, 0, len(ids))
	}
	for chunk := range slices.Chunk(ids, snapshotBatch) {
		cmds := make(valkey.Commands, 0, len(chunk))
		for _, id := range chunk {
			cmds = append(cmds, s.c.B().Hgetall().Key(s.k.device(tenant, id)).Build())
		}
		for _, res := range s.c.DoMulti(ctx, cmds...) {
			h, err := res.AsStrMap()
			if err != nil {
				return nil, fmt.Errorf("valkey: snapshot %s: %w", ch.Name, err)
			}
			d, ok, err := parseDevice(h)
			if err != nil {
				return nil, fmt.Errorf("valkey: snapshot %s: %w", ch.Name, err)
			}
			if ok && (filter == nil || filter(&d.reading)) {
				out = append(out, d.snapshot(now))
			}
		}
	}
	return out, nil
}

// tenants lists the tenants that have devices.
func (s *Store) tenants(ctx context.Context) ([]string, error) {
	return s.c.Do(ctx, s.c.B().Smembers().Key(s.k.tenants()).Build()).AsStrSlice()
}

// SweepStale implements state.Store: per tenant, a script takes the
// devices whose stale time has passed from the index, marks them stale and
// parks them at +inf until they speak again. Each is returned once, as the
// memory store does.
func (s *Store) SweepStale(ctx context.Context) ([]state.TenantReading, error) {
	tenants, err := s.tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("valkey: sweep: %w", err)
	}
	now := s.opt.Now()
	var out []state.TenantReading
	for _, tenant := range tenants {
		prefix := s.k.device(tenant, "")
		for {
			arr, err := storeSweepScript.Exec(ctx, s.c, []string{s.k.devices(tenant)},
				[]string{strconv.FormatInt(now.UnixMicro(), 10), prefix, strconv.Itoa(sweepBatch)}).ToArray()
			if err != nil {
				return out, fmt.Errorf("valkey: sweep %s: %w", tenant, err)
			}
			if len(arr) == 0 {
				return out, fmt.Errorf("valkey: sweep %s: empty reply", tenant)
			}
			taken, _ := arr[0].AsInt64()
			for i := 1; i+1 < len(arr); i += 2 {
				h, err := arr[i+1].AsStrMap()
				if err != nil {
					return out, fmt.Errorf("valkey: sweep %s: %w", tenant, err)
				}
				d, ok, err := parseDevice(h)
				if err != nil {
					return out, fmt.Errorf("valkey: sweep %s: %w", tenant, err)
				}
				if !ok {
					continue
				}
				out = append(out, state.TenantReading{Tenant: tenant, Reading: d.staleNotice(now)})
			}
			// The script parks what it took, so a short batch means done.
			if taken < sweepBatch {
				break
			}
		}
	}
	return out, nil
}

// DeviceCounts implements state.Store.
func (s *Store) DeviceCounts(ctx context.Context) (map[string]int, error) {
	tenants, err := s.tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("valkey: device counts: %w", err)
	}
	out := make(map[string]int, len(tenants))
	if len(tenants) == 0 {
		return out, nil
	}
	cmds := make(valkey.Commands, 0, len(tenants))
	for _, t := range tenants {
		cmds = append(cmds, s.c.B().Zcard().Key(s.k.devices(t)).Build())
	}
	for i, res := range s.c.DoMulti(ctx, cmds...) {
		n, err := res.AsInt64()
		if err != nil {
			return nil, fmt.Errorf("valkey: device counts %s: %w", tenants[i], err)
		}
		out[tenants[i]] = int(n)
	}
	return out, nil
}
