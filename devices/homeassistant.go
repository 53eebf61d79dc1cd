package devices

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// HomeAssistant decodes devices announced by Home Assistant MQTT discovery
// (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
//
//	<base>/<component>/[<node_id>/]<object_id>/config   entity config (learnt; ignored)
//	<base>/device/<object_id>/config                     device discovery, entities in "cmps" (learnt; ignored)
//	<base>/status                                        Home Assistant's own birth/will (ignored)
//	<state_topic>                                        decoded with the config's value_template,
//	                                                     device_class and unit_of_measurement
//	<availability_topic>                                 payload_available / payload_not_available
//
// Configs may use the abbreviated keys and the '~' topic base. Sensor,
// binary_sensor, switch, light (default and JSON schema) and fan entities
// are decoded; other platforms are learnt for nothing and ignored.
//
// # Where state topics live
//
// A discovery config names its state topic freely, usually outside the
// discovery prefix (ESPHome: "<node>/sensor/<object>/state"; Zigbee2MQTT:
// "zigbee2mqtt/<name>"). A source's filters are static and must not
// overlap another source's, so this family decodes state and availability
// topics that arrive through its own filters: everything below its base
// (devices that publish under the discovery prefix, as Home Assistant's
// own examples do), plus the StateFilters of its configuration. A state
// topic elsewhere is learnt but never received; if a StateFilter overlaps
// another source (say "zigbee2mqtt/#" beside a zigbee2mqtt source) the
// Router refuses the pair, and the user chooses which family decodes that
// fleet. The trade-off: no message is ever decoded twice or for two
// tenants, at the cost of one line of configuration for devices whose
// state lives outside the discovery prefix.
//
// # State
//
// The family is stateful: configs are learnt in a table of at most
// MaxLearnt entities per handler, keyed by base, so one handler can serve
// several sources; Decode does no I/O and holds the table's lock only for
// map operations. A state message that arrives before its config (retained
// messages come in any order) is ignored; the next one decodes. An empty
// config payload removes the entity, as in Home Assistant.
//
// # Identity and names
//
// The device id is the first of the config's device.identifiers (what
// Home Assistant's device registry keys on), else its first connection
// ("mac:…"), else the node_id, unique_id or object_id; device name, model,
// manufacturer and sw_version become attrs. The metric name is the device
// class mapped to READINGS.md (signal_strength is rssi in dBm, signal in
// %; a battery in V is voltage), else a canonical id among the template's
// JSON key, the entity name and the object id, else the first of those in
// snake_case; switches, lights and fans are "state". The first entity of a
// device to claim a name keeps it; a later one with the same name becomes
// "<object_id>.<name>". Units are converted to READINGS.md's (°F, K, Wh,
// mV, mA, kW, Pa, kPa, bar, psi, ppm VOC). A value_template outside the
// common forms (haTemplate) keeps the raw payload as an attr named like
// the metric.
type HomeAssistant struct {
	stateFilters []string

	mu        sync.RWMutex
	byConfig  map[string][]*haEntity // base, discovery topic → entities
	byState   map[string][]*haEntity // base, state topic
	byAvail   map[string][]*haEntity // base, availability topic
	claims    map[string]string      // base, device, metric → entity key
	nEntities int
}

// HomeAssistantConfig configures a HomeAssistant handler.
type HomeAssistantConfig struct {
	// StateFilters are topic filters, outside the discovery base, on which
	// discovered devices publish state and availability (for example
	// "esphome-nodes/#"). Empty (the default): only topics below the base.
	StateFilters []string
}

// NewHomeAssistant checks cfg and returns a handler with an empty table.
// The zero HomeAssistant is ready to use too (no state filters); a
// HomeAssistant must not be copied after first use.
func NewHomeAssistant(cfg HomeAssistantConfig) (*HomeAssistant, error) {
	for _, f := range cfg.StateFilters {
		if err := ValidFilter(f); err != nil {
			return nil, fmt.Errorf("homeassistant: state filter: %w", err)
		}
	}
	return &HomeAssistant{stateFilters: append([]string(nil), cfg.StateFilters...)}, nil
}

var (
	_ Handler = (*HomeAssistant)(nil)
	_ Sampler = (*HomeAssistant)(nil)
	_ Staler  = (*HomeAssistant)(nil)
	_ Learner = (*HomeAssistant)(nil)
)

// Family implements Handler.
func (*HomeAssistant) Family() string { return "homeassistant" }

// DefaultBase implements Handler: Home Assistant's default discovery_prefix.
func (*HomeAssistant) DefaultBase() string { return "homeassistant" }

// Filters implements Handler: the discovery tree and the state filters.
func (h *HomeAssistant) Filters(base string) []string {
	return append([]string{JoinBase(base, "#")}, h.stateFilters...)
}

// LearnFilters implements Learner: the discovery configs.
func (*HomeAssistant) LearnFilters(base string) []string {
	return []string{JoinBase(base, "+/+/config"), JoinBase(base, "+/+/+/config")}
}

// StaleAfter implements Staler. Discovery says nothing about report
// intervals (expire_after is optional and per entity); an hour covers
// sensors that publish on change.
func (*HomeAssistant) StaleAfter() time.Duration { return time.Hour }

// Learnt returns how many entities the table holds.
func (h *HomeAssistant) Learnt() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.nEntities
}

// Decode implements Handler.
func (h *HomeAssistant) Decode(base string, m Message) ([]Reading, error) {
	if rest, ok := TrimBase(base, m.Topic); ok {
		if rest == "status" {
			return nil, fmt.Errorf("%w: home assistant status", ErrIgnored)
		}
		lv := strings.Split(rest, "/")
		if n := len(lv); lv[n-1] == "config" && (n == 3 || n == 4) {
			return nil, h.learn(base, m.Topic, lv, m.Payload)
		}
	} else if !matchesFilters(h.stateFilters, m.Topic) {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q nor a state filter", m.Topic, base)
	}
	k := learntKey(base, m.Topic)
	h.mu.RLock()
	states, avails := h.byState[k], h.byAvail[k]
	h.mu.RUnlock()
	if len(states) == 0 && len(avails) == 0 {
		return nil, fmt.Errorf("%w: no discovery config names %q", ErrIgnored, m.Topic)
	}
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored)
	}
	return h.decodeTopic(m, states, avails)
}

func matchesFilters(fs []string, topic string) bool {
	for _, f := range fs {
		if Match(f, topic) {
			return true
		}
	}
	return false
}

// learn replaces the entities of one discovery topic, atomically: a
// concurrent Decode sees the old set or the new one.
func (h *HomeAssistant) learn(base, topic string, lv []string, p []byte) error {
	var es []*haEntity
	if len(p) > 0 {
		component, node, object := lv[0], "", lv[1]
		if len(lv) == 4 {
			node, object = lv[1], lv[2]
		}
		if component == "device" && len(lv) != 3 {
			return Reject(ReasonInvalidTopic, "device discovery topic %q has a node_id", topic)
		}
		var err error
		if es, err = parseHAConfig(base, topic, component, node, object, p); err != nil {
			return err
		}
	}
	ck := learntKey(base, topic)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byConfig == nil {
		h.byConfig, h.byState = map[string][]*haEntity{}, map[string][]*haEntity{}
		h.byAvail, h.claims = map[string][]*haEntity{}, map[string]string{}
	}
	old := h.byConfig[ck]
	if len(es) > 0 && h.nEntities-len(old)+len(es) > MaxLearnt {
		return fmt.Errorf("%w: discovery table full (%d entities)", ErrIgnored, MaxLearnt)
	}
	for _, e := range old {
		h.unindex(base, e)
	}
	delete(h.byConfig, ck)
	h.nEntities -= len(old)
	if len(es) == 0 {
		return fmt.Errorf("%w: discovery config removed", ErrIgnored)
	}
	for _, e := range es {
		h.index(base, e)
	}
	h.byConfig[ck] = es
	h.nEntities += len(es)
	return fmt.Errorf("%w: discovery config learnt", ErrIgnored)
}

// index adds e under the lock, claiming its metric name.
func (h *HomeAssistant) index(base string, e *haEntity) {
	if e.stateTopic != "" {
		e.metric = e.name
		claim := learntKey(base, e.device, e.name)
		if owner, taken := h.claims[claim]; taken && owner != e.key {
			e.metric = e.instance + "." + e.name
		} else {
			h.claims[claim] = e.key
		}
		k := learntKey(base, e.stateTopic)
		h.byState[k] = append(h.byState[k], e)
	}
	seen := map[string]bool{}
	for _, a := range e.avail {
		if !seen[a.topic] {
			seen[a.topic] = true
			k := learntKey(base, a.topic)
			h.byAvail[k] = append(h.byAvail[k], e)
		}
	}
}

func (h *HomeAssistant) unindex(base string, e *haEntity) {
	if claim := learntKey(base, e.device, e.name); h.claims[claim] == e.key {
		delete(h.claims, claim)
	}
	drop := func(m map[string][]*haEntity, k string) {
		list := m[k]
		out := make([]*haEntity, 0, len(list))
		for _, x := range list {
			if x != e {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			delete(m, k)
		} else {
			m[k] = out
		}
	}
	if e.stateTopic != "" {
		drop(h.byState, learntKey(base, e.stateTopic))
	}
	for _, a := range e.avail {
		drop(h.byAvail, learntKey(base, a.topic))
	}
}

// decodeTopic builds one Reading per device named by the topic's entities,
// sorted by device id so that the result does not depend on learn order.
func (h *HomeAssistant) decodeTopic(m Message, states, avails []*haEntity) ([]Reading, error) {
	raw := string(m.Payload)
	var doc any
	var docErr error
	parsed := false
	jsonDoc := func() (any, error) {
		if !parsed {
			parsed = true
			doc, docErr = decodeValue(m.Payload)
		}
		return doc, docErr
	}
	byDevice := map[string]*Reading{}
	reading := func(dev string, info map[string]string) (*Reading, error) {
		r, ok := byDevice[dev]
		if !ok {
			nr := newReading(h.Family(), dev, m)
			r = &nr
			byDevice[dev] = r
		}
		for k, v := range info {
			if err := setAttr(r, k, v); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	availMatched := false
	for _, e := range avails {
		for i, a := range e.avail {
			if a.topic != m.Topic {
				continue
			}
			v := any(raw)
			if a.tplOK && a.tpl.json {
				d, err := jsonDoc()
				if err != nil {
					return nil, err
				}
				var ok bool
				if v, ok = a.tpl.eval(raw, d); !ok {
					continue
				}
			}
			s := haText(v, "")
			if s != a.on && s != a.off {
				continue
			}
			online, known := h.availability(e, i, s == a.on)
			availMatched = true
			if !known {
				continue
			}
			r, err := reading(e.device, nil)
			if err != nil {
				return nil, err
			}
			r.Online = &online
		}
	}
	if len(avails) > 0 && !availMatched && len(states) == 0 {
		return nil, Reject(ReasonInvalidPayload, "availability payload %.40q matches no payload_available/payload_not_available", raw)
	}
	if len(states) == 0 && len(byDevice) == 0 {
		return nil, fmt.Errorf("%w: availability not decided yet (availability_mode)", ErrIgnored)
	}
	for _, e := range states {
		if e.tplOK && (e.tpl.json || e.kind == "light_json") {
			if _, err := jsonDoc(); err != nil {
				return nil, err
			}
		}
		r, err := reading(e.device, e.info)
		if err != nil {
			return nil, err
		}
		if err := e.decode(r, raw, doc); err != nil {
			return nil, err
		}
	}
	devs := make([]string, 0, len(byDevice))
	for d := range byDevice {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	out := make([]Reading, 0, len(devs))
	for _, d := range devs {
		out = append(out, *byDevice[d])
	}
	return out, nil
}

// availability records what availability topic i of e said and returns
// the entity's availability under its availability_mode: latest (the
// default) is this message; all needs every topic available (Zigbee2MQTT
// lists the bridge's state and the device's own) and any needs one. known
// is false while the topics heard so far do not decide it (all: none
// unavailable but some unheard; any: none available but some unheard):
// then the message says nothing about availability.
func (h *HomeAssistant) availability(e *haEntity, i int, on bool) (online, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.availSeen[i] = -1
	if on {
		e.availSeen[i] = 1
	}
	count := map[int8]int{}
	for _, s := range e.availSeen {
		count[s]++
	}
	switch e.availMode {
	case "all":
		if count[-1] > 0 {
			return false, true
		}
		return true, count[0] == 0
	case "any":
		if count[1] > 0 {
			return true, true
		}
		return false, count[0] == 0
	}
	return on, true
}

// decode applies one entity to a state payload. Values Home Assistant
// itself treats as "no state" (unknown, unavailable, None, a missing JSON
// member, a payload matching neither ON nor OFF) leave the metric absent.
func (e *haEntity) decode(r *Reading, raw string, doc any) error {
	if !e.tplOK {
		s := raw
		if len(s) > MaxNameLen {
			n := MaxNameLen
			for n > 0 && !utf8.RuneStart(s[n]) {
				n-- // cut on a rune boundary: attrs stay valid UTF-8
			}
			s = s[:n]
		}
		return setAttr(r, e.metric, s) // unsupported template: the raw value, undecoded
	}
	if e.kind == "light_json" {
		return e.lightJSON(r, doc)
	}
	v, ok := e.tpl.eval(raw, doc)
	if !ok {
		return nil
	}
	switch e.kind {
	case "sensor":
		switch x := v.(type) {
		case float64:
			return setMetric(r, e.metric, convertTo(e.metric, x, e.unit))
		case json.Number:
			f, err := parseNumber(x)
			if err != nil {
				return err
			}
			return setMetric(r, e.metric, convertTo(e.metric, f, e.unit))
		case bool:
			return setMetric(r, e.metric, x)
		case string:
			s := strings.TrimSpace(x)
			switch s {
			case "", "unknown", "unavailable", "None", "none", "null":
				return nil
			}
			f, isNum, err := numericString(s)
			if err != nil {
				return err
			}
			if isNum {
				return setMetric(r, e.metric, convertTo(e.metric, f, e.unit))
			}
			return setAttr(r, e.metric, s)
		}
		return nil // arrays and objects are no sensor state
	default: // binary_sensor, switch, light, fan
		s := haText(v, "")
		if f, ok := v.(float64); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
		var on bool
		switch {
		case strings.EqualFold(s, e.on):
			on = true
		case strings.EqualFold(s, e.off):
		default:
			return nil
		}
		if e.invert {
			on = !on
		}
		return setMetric(r, e.metric, on)
	}
}

// lightJSON decodes the JSON light schema: {"state":"ON","brightness":…}.
func (e *haEntity) lightJSON(r *Reading, doc any) error {
	obj, ok := doc.(map[string]any)
	if !ok {
		return Reject(ReasonInvalidPayload, "JSON light state is not an object")
	}
	prefix := ""
	if e.metric != e.name {
		prefix = e.instance + "."
	}
	keys := slices.Sorted(maps.Keys(obj))
	for _, k := range keys {
		v := obj[k]
		if k == "state" {
			s, _ := v.(string)
			if on, ok := parseOnOff(s); ok {
				if err := setMetric(r, prefix+"state", on); err != nil {
					return err
				}
			}
			continue
		}
		if err := flatten(r, prefix+SnakeCase(k), v); err != nil {
			return err
		}
	}
	return nil
}

// Availability implements Sampler: the availability topic the sampled
// configs name, below the base.
func (*HomeAssistant) Availability(base, device string, online bool) (Message, bool) {
	p := "offline"
	if online {
		p = "online"
	}
	return Message{Topic: JoinBase(base, "sensor/"+device+"/availability"), Payload: []byte(p), Retained: true}, true
}

// Sample implements Sampler: the configs of Home Assistant's discovery
// examples (a JSON state topic shared by temperature, humidity and battery
// sensors, and a switch in abbreviated form with '~'), re-announced every
// round as retained messages, then the states.
func (*HomeAssistant) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	dev := map[string]any{"identifiers": []any{device}, "name": device, "model": "mqlive-sim", "manufacturer": "mqlive"}
	stateTopic := JoinBase(base, "sensor/"+device+"/state")
	avail := JoinBase(base, "sensor/"+device+"/availability")
	var msgs []Message
	add := func(topic string, v any) {
		var b []byte
		if s, ok := v.(string); ok {
			b = []byte(s)
		} else {
			b, _ = json.Marshal(v)
		}
		msgs = append(msgs, Message{Topic: topic, Payload: b, Retained: true, ReceivedAt: now})
	}
	for _, s := range []struct{ id, class, unit string }{
		{"temperature", "temperature", "°C"}, {"humidity", "humidity", "%"}, {"battery", "battery", "%"},
	} {
		add(JoinBase(base, "sensor/"+device+"/"+s.id+"/config"), map[string]any{
			"name": s.id, "device_class": s.class, "unit_of_measurement": s.unit,
			"state_topic": stateTopic, "value_template": "{{ value_json." + s.id + " }}",
			"availability_topic": avail, "unique_id": device + "_" + s.id, "device": dev,
		})
	}
	tilde := JoinBase(base, "switch/"+device)
	add(tilde+"/relay/config", map[string]any{
		"~": tilde, "name": "relay", "cmd_t": "~/relay/set", "stat_t": "~/relay/state",
		"uniq_id": device + "_relay", "dev": map[string]any{"ids": device},
	})
	add(stateTopic, map[string]any{
		"temperature": round2(18 + rnd.Float64()*8),
		"humidity":    round2(35 + rnd.Float64()*30),
		"battery":     float64(60 + rnd.IntN(41)),
	})
	state := "OFF"
	if rnd.IntN(3) != 0 {
		state = "ON"
	}
	add(tilde+"/relay/state", state)
	return msgs
}

// Sequential implements Sequential: decoding depends on earlier
// messages of the source on other topics.
func (*HomeAssistant) Sequential() {}

var _ Sequential = (*HomeAssistant)(nil)
