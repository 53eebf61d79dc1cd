package sparkplug

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/mqlive/mqlive/devices"
)

// SparkplugB decodes Eclipse Sparkplug B 3.0 under a namespace base
// (default "spBv1.0"):
//
//	<base>/<group>/NBIRTH/<edge>            edge node online, metric definitions
//	<base>/<group>/NDATA/<edge>             edge node metrics
//	<base>/<group>/NDEATH/<edge>            edge node and its devices offline
//	<base>/<group>/DBIRTH/<edge>/<device>   device online, metric definitions
//	<base>/<group>/DDATA/<edge>/<device>    device metrics
//	<base>/<group>/DDEATH/<edge>/<device>   device offline
//	<base>/<group>/NCMD|DCMD/...            commands: ignored (never status)
//	<base>/STATE/<host>                     host application state: ignored
//
// Device ids are "<group>/<edge>" for an edge node and
// "<group>/<edge>/<device>" for a device (READINGS.md). Use New.
type SparkplugB struct {
	s sessions

	unknownAlias atomic.Uint64
	staleDeaths  atomic.Uint64
	outOfOrder   atomic.Uint64
	evicted      atomic.Uint64
}

var (
	_ devices.Handler   = (*SparkplugB)(nil)
	_ devices.Sampler   = (*SparkplugB)(nil)
	_ devices.Staler    = (*SparkplugB)(nil)
	_ devices.Commander = (*SparkplugB)(nil)
)

// New returns a SparkplugB with an empty session memory.
func New() *SparkplugB { return &SparkplugB{} }

// Stats counts what the family accepted or refused beyond the bridge's
// per-verdict counters.
type Stats struct {
	// UnknownAlias counts DATA messages rejected because a metric alias was
	// not defined by the current birth (the edge node needs a rebirth).
	UnknownAlias uint64
	// StaleDeaths counts NDEATH messages ignored because their bdSeq is not
	// the current session's.
	StaleDeaths uint64
	// OutOfOrder counts messages accepted with a seq other than the
	// previous one plus one (mod 256).
	OutOfOrder uint64
	// Evicted counts edge node sessions forgotten because MaxNodes was
	// reached.
	Evicted uint64
}

// Stats returns the counters since New.
func (h *SparkplugB) Stats() Stats {
	return Stats{
		UnknownAlias: h.unknownAlias.Load(),
		StaleDeaths:  h.staleDeaths.Load(),
		OutOfOrder:   h.outOfOrder.Load(),
		Evicted:      h.evicted.Load(),
	}
}

var _ devices.Counter = (*SparkplugB)(nil)

// Counters implements devices.Counter with Stats: stale_death (an NDEATH
// whose bdSeq is not the current session's: nothing changed, no Reading),
// unknown_alias, out_of_order and evicted.
func (h *SparkplugB) Counters() map[string]uint64 {
	st := h.Stats()
	return map[string]uint64{
		"stale_death":   st.StaleDeaths,
		"unknown_alias": st.UnknownAlias,
		"out_of_order":  st.OutOfOrder,
		"evicted":       st.Evicted,
	}
}

// Family implements devices.Handler.
func (*SparkplugB) Family() string { return "sparkplug_b" }

// DefaultBase implements devices.Handler: the Sparkplug B namespace
// (Sparkplug 3.0 §4.1.1.1, tck-id-topic-structure-namespace-a).
func (*SparkplugB) DefaultBase() string { return "spBv1.0" }

// Filters implements devices.Handler. One filter for the whole namespace:
// host STATE and commands arrive too and are ignored, so the monitor shows
// an integrator everything that happens in the namespace.
func (*SparkplugB) Filters(base string) []string { return []string{devices.JoinBase(base, "#")} }

// StaleAfter implements devices.Staler. Sparkplug reports by exception and
// signals availability with NDEATH (an MQTT will), so a quiet node is not a
// dead one; an hour without a message is worth showing all the same.
func (*SparkplugB) StaleAfter() time.Duration { return time.Hour }

// ignored wraps devices.ErrIgnored with a reason.
func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: sparkplug_b: %s", devices.ErrIgnored, fmt.Sprintf(format, args...))
}

// Decode implements devices.Handler.
func (h *SparkplugB) Decode(base string, m devices.Message) ([]devices.Reading, error) {
	t, state, err := parseTopic(base, m.Topic)
	if err != nil {
		return nil, err
	}
	if state {
		return nil, ignored("host application STATE")
	}
	if t.kind == typeNCMD || t.kind == typeDCMD {
		return nil, ignored("%s is a command to the edge node, not status", t.kind)
	}
	if len(m.Payload) > devices.MaxPayload {
		return nil, devices.Reject(devices.ReasonTooLarge, "payload is %d bytes, limit %d", len(m.Payload), devices.MaxPayload)
	}
	var p Payload
	if err := proto.Unmarshal(m.Payload, &p); err != nil {
		return nil, devices.Reject(devices.ReasonInvalidPayload, "not a Sparkplug B payload: %v", err)
	}
	if len(p.GetMetrics()) > devices.MaxFields {
		return nil, devices.Reject(devices.ReasonTooLarge, "%d metrics, limit %d", len(p.GetMetrics()), devices.MaxFields)
	}
	k := nodeKey{base: base, group: t.group, edge: t.edge}
	switch t.kind {
	case typeNBIRTH:
		return h.nbirth(k, t, m, &p)
	case typeDBIRTH:
		return h.dbirth(k, t, m, &p)
	case typeNDATA, typeDDATA:
		return h.data(k, t, m, &p)
	case typeNDEATH:
		return h.ndeath(k, t, m, &p)
	default: // typeDDEATH; parseTopic admits no other
		return h.ddeath(k, t, m, &p)
	}
}

// Device clocks before their first sync report 1970; such a time is worse
// than the bridge's receive time (the same window as package devices).
var (
	minDeviceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDeviceTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// newReading starts a Reading. TS is the payload timestamp (ms since the
// epoch, UTC: Sparkplug 3.0 §6.4.5, tck-id-payloads_timestamp_in_UTC) when plausible, else the
// receive time. Metric timestamps may be newer than the payload's; the
// payload's is the time the whole message describes, so it is the one used.
func newReading(t topic, m devices.Message, p *Payload) devices.Reading {
	r := devices.Reading{Device: t.id(), Family: "sparkplug_b", TS: m.ReceivedAt, ReceivedAt: m.ReceivedAt}
	if p != nil && p.Timestamp != nil && p.GetTimestamp() < 1<<53 {
		ts := time.UnixMilli(int64(p.GetTimestamp())).UTC()
		if !ts.Before(minDeviceTime) && !ts.After(maxDeviceTime) {
			r.TS = ts
		}
	}
	return r
}

func boolPtr(b bool) *bool { return &b }

// requireEnvelope checks the payload fields a message type must carry:
// seq on every edge node message but NDEATH
// (tck-id-payloads-sequence-num-always-included), a timestamp on births
// and DATA (tck-id-payloads-nbirth-timestamp, -dbirth-timestamp,
// -ndata-timestamp, -ddata-timestamp). Requiring them also keeps random
// bytes that happen to parse as protobuf from becoming a Reading.
func requireEnvelope(kind string, p *Payload, timestamp bool) error {
	if p.Seq == nil {
		return devices.Reject(devices.ReasonInvalidPayload, "%s without seq", kind)
	}
	if p.GetSeq() > 255 {
		return devices.Reject(devices.ReasonInvalidPayload, "%s seq %d is not 0..255", kind, p.GetSeq())
	}
	if timestamp && p.Timestamp == nil {
		return devices.Reject(devices.ReasonInvalidPayload, "%s without timestamp", kind)
	}
	return nil
}

// buildBirth reads the metric definitions of a birth certificate. Births
// carry every metric with its name and datatype
// (tck-id-payloads-alias-birth-requirement, tck-id-payloads-metric-datatype-req)
// and aliases, when used, are unique (tck-id-payloads-alias-uniqueness).
func buildBirth(kind string, p *Payload) (*birthSet, error) {
	b := &birthSet{
		byAlias: make(map[uint64]metricDef),
		byName:  make(map[string]metricDef, len(p.GetMetrics())),
		alias:   make(map[string]uint64),
	}
	for i, m := range p.GetMetrics() {
		name := m.GetName()
		if name == "" {
			return nil, devices.Reject(devices.ReasonInvalidPayload, "%s metric %d has no name", kind, i)
		}
		if err := checkName(name); err != nil {
			return nil, err
		}
		if m.Datatype == nil {
			return nil, devices.Reject(devices.ReasonInvalidPayload, "%s metric %q has no datatype", kind, name)
		}
		def := metricDef{name: name, datatype: m.GetDatatype(), key: metricKey(name), unit: unitProperty(m)}
		b.byName[name] = def
		if m.Alias != nil {
			a := m.GetAlias()
			if prev, dup := b.byAlias[a]; dup && prev.name != name {
				return nil, devices.Reject(devices.ReasonInvalidPayload, "%s alias %d names both %q and %q", kind, a, prev.name, name)
			}
			b.byAlias[a] = def
			b.alias[name] = a
		}
	}
	return b, nil
}

func checkName(name string) error {
	if len(name) > devices.MaxNameLen {
		return devices.Reject(devices.ReasonInvalidPayload, "metric name of %d bytes, limit %d", len(name), devices.MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return devices.Reject(devices.ReasonInvalidUTF8, "metric name is not valid UTF-8")
	}
	return nil
}

// bdSeqOf returns the bdSeq metric of an NBIRTH or NDEATH.
func bdSeqOf(p *Payload) (uint64, bool) {
	for _, m := range p.GetMetrics() {
		if m.GetName() == "bdSeq" {
			return rawInt(m)
		}
	}
	return 0, false
}

func (h *SparkplugB) nbirth(k nodeKey, t topic, m devices.Message, p *Payload) ([]devices.Reading, error) {
	if err := requireEnvelope(t.kind, p, true); err != nil {
		return nil, err
	}
	bd, ok := bdSeqOf(p)
	if !ok {
		return nil, devices.Reject(devices.ReasonInvalidPayload, "NBIRTH without an integer bdSeq metric (tck-id-payloads-nbirth-bdseq)")
	}
	set, err := buildBirth(t.kind, p)
	if err != nil {
		return nil, err
	}
	r := newReading(t, m, p)
	r.Online = boolPtr(true)
	if err := applyMetrics(&r, p, set); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	n, evicted := h.s.get(k, true)
	// A new session: its devices must be born again
	// (tck-id-message-flow-edge-node-birth-publish-dbirth... follow the NBIRTH).
	n.hasBdSeq, n.bdSeq, n.metrics, n.devices = true, bd, set, nil
	n.seq = int(p.GetSeq())
	h.s.mu.Unlock()
	if evicted {
		h.evicted.Add(1)
	}
	return []devices.Reading{r}, nil
}

func (h *SparkplugB) dbirth(k nodeKey, t topic, m devices.Message, p *Payload) ([]devices.Reading, error) {
	if err := requireEnvelope(t.kind, p, true); err != nil {
		return nil, err
	}
	set, err := buildBirth(t.kind, p)
	if err != nil {
		return nil, err
	}
	r := newReading(t, m, p)
	r.Online = boolPtr(true)
	if err := applyMetrics(&r, p, set); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	// A DBIRTH from a node whose NBIRTH this bridge has not seen (it started
	// later) is still a complete definition of the device: keep it.
	n, evicted := h.s.get(k, true)
	if _, known := n.devices[t.device]; !known && len(n.devices) >= MaxDevicesPerNode {
		h.s.mu.Unlock()
		return nil, devices.Reject(devices.ReasonTooLarge, "edge node %s/%s has %d devices, limit %d", t.group, t.edge, len(n.devices), MaxDevicesPerNode)
	}
	if n.devices == nil {
		n.devices = make(map[string]*birthSet)
	}
	n.devices[t.device] = set
	inOrder := n.seqStep(p.GetSeq())
	h.s.mu.Unlock()
	h.count(inOrder, evicted)
	return []devices.Reading{r}, nil
}

func (h *SparkplugB) count(inOrder, evicted bool) {
	if !inOrder {
		h.outOfOrder.Add(1)
	}
	if evicted {
		h.evicted.Add(1)
	}
}

// data decodes NDATA and DDATA. Out-of-order seq is accepted and counted
// (Stats.OutOfOrder): Sparkplug asks a host to wait a "Reorder Timeout" and
// then request a rebirth (tck-id-operational-behavior-host-reordering-start,
// -rebirth), which a read-only bridge cannot do; every metric carries its
// own value, so applying a late message costs at most one stale sample.
func (h *SparkplugB) data(k nodeKey, t topic, m devices.Message, p *Payload) ([]devices.Reading, error) {
	if err := requireEnvelope(t.kind, p, true); err != nil {
		return nil, err
	}
	var set *birthSet
	inOrder := true
	h.s.mu.Lock()
	if n, _ := h.s.get(k, false); n != nil {
		if t.isDevice() {
			set = n.devices[t.device]
		} else {
			set = n.metrics
		}
		inOrder = n.seqStep(p.GetSeq())
	}
	h.s.mu.Unlock()
	h.count(inOrder, false)
	r := newReading(t, m, p)
	if err := applyMetrics(&r, p, set); err != nil {
		if errors.Is(err, errUnknownAlias) {
			h.unknownAlias.Add(1)
		}
		return nil, err
	}
	if len(r.Metrics)+len(r.Attrs) == 0 {
		return nil, ignored("%s carries no status metric", t.kind)
	}
	return []devices.Reading{r}, nil
}

// ndeath takes the edge node and every device born under it offline, at
// the bridge's time (tck-id-operational-behavior-edge-node-termination-
// host-action-ndeath-node-offline, -ndeath-devices-offline). An NDEATH
// whose bdSeq is not the one of the last NBIRTH is the will of an earlier
// connection, delivered late (the broker publishes a will only after the
// old connection times out, possibly after the node reconnected and was
// born again): it must not take the new session offline
// (tck-id-payloads-ndeath-bdseq: the NDEATH carries the bdSeq of the NBIRTH
// it belongs to).
func (h *SparkplugB) ndeath(k nodeKey, t topic, m devices.Message, p *Payload) ([]devices.Reading, error) {
	bd, ok := bdSeqOf(p)
	if !ok {
		return nil, devices.Reject(devices.ReasonInvalidPayload, "NDEATH without an integer bdSeq metric (tck-id-payloads-ndeath-bdseq)")
	}
	var born []string
	h.s.mu.Lock()
	n, _ := h.s.get(k, false)
	if n != nil && n.hasBdSeq && n.bdSeq != bd {
		current := n.bdSeq
		h.s.mu.Unlock()
		h.staleDeaths.Add(1)
		return nil, ignored("stale NDEATH of %s/%s: bdSeq %d, current session bdSeq %d", t.group, t.edge, bd, current)
	}
	if n != nil {
		for d := range n.devices {
			born = append(born, d)
		}
		n.devices = nil
		n.seq = -1
	}
	h.s.mu.Unlock()
	slices.Sort(born)
	out := make([]devices.Reading, 0, 1+len(born))
	r := newReading(t, m, nil)
	r.Online = boolPtr(false)
	out = append(out, r)
	for _, d := range born {
		dt := topic{group: t.group, kind: typeDDEATH, edge: t.edge, device: d}
		dr := newReading(dt, m, nil)
		dr.Online = boolPtr(false)
		out = append(out, dr)
	}
	return out, nil
}

// ddeath takes one device offline at the DDEATH's timestamp
// (tck-id-operational-behavior-edge-node-termination-host-action-ddeath-devices-offline).
func (h *SparkplugB) ddeath(k nodeKey, t topic, m devices.Message, p *Payload) ([]devices.Reading, error) {
	if err := requireEnvelope(t.kind, p, false); err != nil {
		return nil, err
	}
	inOrder := true
	h.s.mu.Lock()
	if n, _ := h.s.get(k, false); n != nil {
		delete(n.devices, t.device)
		inOrder = n.seqStep(p.GetSeq())
	}
	h.s.mu.Unlock()
	h.count(inOrder, false)
	r := newReading(t, m, p)
	r.Online = boolPtr(false)
	return []devices.Reading{r}, nil
}

// applyMetrics puts every metric of p into r, resolving names and
// datatypes through set (the current birth; nil when none is known).
func applyMetrics(r *devices.Reading, p *Payload, set *birthSet) error {
	for i, m := range p.GetMetrics() {
		def, err := resolve(m, i, set)
		if err != nil {
			return err
		}
		if m.GetIsHistorical() || protocolMetric(def.name) {
			// Historical values must not update live state (Sparkplug 3.0
			// §6.4.6 is_historical); protocol metrics are not status.
			continue
		}
		dt := DataType(def.datatype)
		if m.Datatype != nil {
			dt = DataType(m.GetDatatype())
		}
		if dt == DataType_Unknown {
			dt = inferType(m)
		}
		num, str, k, ok := convert(m, dt)
		if !ok {
			return devices.Reject(devices.ReasonInvalidPayload, "metric %q: value does not match datatype %v (tck-id-payloads-metric-datatype-value-type)", def.name, dt)
		}
		if k == kindSkip {
			continue
		}
		if len(r.Metrics)+len(r.Attrs) >= devices.MaxFields {
			return devices.Reject(devices.ReasonTooLarge, "more than %d fields", devices.MaxFields)
		}
		if k == kindAttr {
			if !utf8.ValidString(str) {
				return devices.Reject(devices.ReasonInvalidUTF8, "metric %q: string is not valid UTF-8", def.name)
			}
			if r.Attrs == nil {
				r.Attrs = make(map[string]string)
			}
			r.Attrs[def.key] = str
			continue
		}
		if f, isF := num.(float64); isF {
			unit := unitProperty(m)
			if unit == "" {
				unit = def.unit
			}
			num = canonicalUnit(def.key, f, unit)
		}
		if r.Metrics == nil {
			r.Metrics = make(map[string]any, len(p.GetMetrics()))
		}
		r.Metrics[def.key] = num
	}
	return nil
}

// resolve finds the definition of one metric: by name when it has one
// (births, and DATA from nodes that use no aliases), else by alias through
// the birth (tck-id-payloads-alias-data-cmd-requirement: DATA carries only
// the alias). An alias the birth did not define is an error: the value
// cannot be named, and the edge node needs a rebirth.
func resolve(m *Payload_Metric, i int, set *birthSet) (metricDef, error) {
	if name := m.GetName(); name != "" {
		if set != nil {
			if def, ok := set.byName[name]; ok {
				return def, nil
			}
		}
		if err := checkName(name); err != nil {
			return metricDef{}, err
		}
		return metricDef{name: name, datatype: m.GetDatatype(), key: metricKey(name)}, nil
	}
	if m.Alias == nil {
		return metricDef{}, devices.Reject(devices.ReasonInvalidPayload, "metric %d has neither name nor alias (tck-id-payloads-name-requirement)", i)
	}
	if set != nil {
		if def, ok := set.byAlias[m.GetAlias()]; ok {
			return def, nil
		}
	}
	return metricDef{}, &devices.DecodeError{Reason: devices.ReasonInvalidPayload,
		Err: fmt.Errorf("alias %d: %w (the edge node needs a rebirth)", m.GetAlias(), errUnknownAlias)}
}

// errUnknownAlias marks a DATA metric whose alias no birth defined.
var errUnknownAlias = errors.New("sparkplug_b: metric alias not defined by the current birth")

// Sequential implements devices.Sequential: decoding depends on earlier
// messages of the source on other topics.
func (*SparkplugB) Sequential() {}

var _ devices.Sequential = (*SparkplugB)(nil)
