package devices

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Homie decodes the Homie convention v4 (https://homieiot.github.io/specification/spec-core-v4_0_0/)
// and v5 (https://homieiot.github.io/specification/) below a base, "homie"
// by default:
//
//	v4 <base>/<device>/$state                       init|ready|disconnected|sleeping|lost|alert
//	v4 <base>/<device>/$nodes                       node ids, comma separated (learnt)
//	v4 <base>/<device>/<node>/$properties           property ids (learnt)
//	v4 <base>/<device>/<node>/<prop>/$datatype      integer|float|boolean|string|enum|color|datetime|duration (learnt)
//	v4 <base>/<device>/<node>/<prop>/$unit|$settable (learnt)
//	v4 <base>/<device>/<node>/<prop>                the value, as plain text
//	v4 <base>/<device>/$stats/<stat>                legacy stats extension: uptime, signal, battery, …
//	v5 <base>/5/<device>/$state                     init|ready|disconnected|sleeping|lost
//	v5 <base>/5/<device>/$description               JSON: nodes → properties → datatype, unit, settable (learnt)
//	v5 <base>/5/<device>/<node>/<prop>              the value
//
// v4 and v5 share one filter, <base>/#: v5 puts its major version as the
// first level below the base, so "<base>/5/…" is v5 and everything else is
// v4 (a v4 device with the id "5" cannot be told apart and is read as v5).
// $broadcast, /set, $target, $log, $alert and other attributes are ignored.
//
// The family is stateful: a value means nothing without its property's
// $datatype and $unit, which arrive on other (retained) topics. Decode keeps
// what it learns in a table bounded by MaxLearnt entries, keyed by base,
// version, device, node and property, and safe for concurrent use; Decode
// does no I/O and holds the table's lock only for map operations. A value
// of a property whose $datatype is not known (yet) is read by its form
// (true/false a boolean, a number a float, else a string) and named from
// its property id; once $datatype and $unit are learnt they refine it.
//
// Availability: ready, init and alert (connected) and sleeping (a planned
// absence; staleness still catches a device that never wakes) are online;
// disconnected and lost are offline. The raw state is attr homie_state.
//
// Metric names: the property id, mapped to READINGS.md when it is a
// canonical id (a boolean on, power, state, switch or relay is "state");
// properties of the device's primary node are plain, those of other nodes
// are "<node>.<name>". The primary node is the first of $nodes (v4) or the
// alphabetically first node of $description (v5, whose nodes are a JSON
// object without order); until it is known every property is
// "<node>.<name>", so a second instance never overwrites the primary one.
type Homie struct {
	meta learnt[homieMeta]
}

// NewHomie returns a Homie handler with an empty learnt table. The zero
// value is ready to use too; a Homie must not be copied after first use.
func NewHomie() *Homie { return &Homie{} }

// homieMeta is one learnt entry: a device's node ids, a node's property
// ids, or a property's attributes.
type homieMeta struct {
	list     []string // device: node ids; node: property ids
	datatype string
	unit     string
	settable bool
}

var (
	_ Handler   = (*Homie)(nil)
	_ Sampler   = (*Homie)(nil)
	_ Staler    = (*Homie)(nil)
	_ Commander = (*Homie)(nil)
	_ Learner   = (*Homie)(nil)
)

// Family implements Handler.
func (*Homie) Family() string { return "homie" }

// DefaultBase implements Handler: the convention's root topic.
func (*Homie) DefaultBase() string { return "homie" }

// Filters implements Handler: one filter for v4 and v5 alike.
func (*Homie) Filters(base string) []string { return []string{JoinBase(base, "#")} }

// LearnFilters implements Learner: every device's attributes. They are
// published under the same tree as values, so the whole tree is needed.
func (h *Homie) LearnFilters(base string) []string { return h.Filters(base) }

// StaleAfter implements Staler. Homie devices publish on change (and the
// legacy stats every $stats/interval, 60 s by default); an hour without any
// message covers slowly changing sensors.
func (*Homie) StaleAfter() time.Duration { return time.Hour }

// Learnt returns how many entries the table holds (for metrics and tests).
func (h *Homie) Learnt() int { return h.meta.len() }

var homieDatatypes = map[string]bool{
	"integer": true, "float": true, "boolean": true, "string": true, "enum": true,
	"color": true, "datetime": true, "duration": true,
}

// Decode implements Handler.
func (h *Homie) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	lv := strings.Split(rest, "/")
	ver := "4"
	if lv[0] == "5" && len(lv) > 1 {
		ver, lv = "5", lv[1:]
	}
	if lv[0] == "$broadcast" {
		return nil, fmt.Errorf("%w: homie broadcast", ErrIgnored)
	}
	dev := lv[0]
	if dev == "" || strings.HasPrefix(dev, "$") || len(lv) < 2 {
		return nil, Reject(ReasonInvalidTopic, "topic %q names no homie device attribute or property", m.Topic)
	}
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	k := func(parts ...string) string { return learntKey(append([]string{base, ver, dev}, parts...)...) }
	switch {
	case len(lv) == 2 && lv[1] == "$state":
		return h.state(dev, m)
	case len(lv) == 2 && lv[1] == "$nodes" && ver == "4":
		return nil, h.learnList(k(), m.Payload)
	case len(lv) == 2 && lv[1] == "$description" && ver == "5":
		return nil, h.learnDescription(base, dev, m.Payload)
	case strings.HasPrefix(lv[1], "$"):
		if lv[1] == "$stats" && len(lv) == 3 && ver == "4" {
			return h.stats(dev, lv[2], m)
		}
		return nil, fmt.Errorf("%w: homie device attribute %s", ErrIgnored, lv[1])
	case len(lv) == 2:
		return nil, Reject(ReasonInvalidTopic, "topic %q is a node without a property", m.Topic)
	case len(lv) == 3 && lv[2] == "$properties":
		return nil, h.learnList(k(lv[1]), m.Payload)
	case strings.HasPrefix(lv[2], "$"):
		return nil, fmt.Errorf("%w: homie node attribute %s", ErrIgnored, lv[2])
	case len(lv) == 3:
		return h.value(base, ver, dev, lv[1], lv[2], m)
	case len(lv) == 4 && strings.HasPrefix(lv[3], "$") && lv[3] != "$target":
		return nil, h.learnAttr(k(lv[1], lv[2]), lv[3], m.Payload)
	}
	// <prop>/set (commands), $target and deeper topics are not device status.
	return nil, fmt.Errorf("%w: homie %s topic", ErrIgnored, lv[len(lv)-1])
}

// state maps $state to Online; an empty payload removes the device (v5
// device lifecycle) and says nothing about availability.
func (h *Homie) state(dev string, m Message) ([]Reading, error) {
	s := string(m.Payload)
	var online bool
	switch s {
	case "":
		return nil, fmt.Errorf("%w: homie device removed", ErrIgnored)
	case "ready", "init", "alert", "sleeping":
		online = true
	case "disconnected", "lost":
	default:
		return nil, Reject(ReasonInvalidPayload, "$state %.40q is not a homie state", s)
	}
	r := newReading(h.Family(), dev, m)
	r.Online = &online
	if err := setAttr(&r, "homie_state", s); err != nil {
		return nil, err
	}
	return []Reading{r}, nil
}

// homieID reports whether s is a topic id: the convention allows [a-z0-9-];
// upper case and '_' are accepted because real firmwares send them.
func homieID(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

const homieMaxList = 1024

// learnList learns $nodes or $properties. v3's array marker "[]" is dropped.
func (h *Homie) learnList(key string, p []byte) error {
	if len(p) == 0 {
		h.meta.delete(key)
		return fmt.Errorf("%w: homie list removed", ErrIgnored)
	}
	ids := strings.Split(string(p), ",")
	if len(ids) > homieMaxList {
		return Reject(ReasonTooLarge, "%d ids, limit %d", len(ids), homieMaxList)
	}
	for i, id := range ids {
		id = strings.TrimSuffix(id, "[]")
		if !homieID(id) {
			return Reject(ReasonInvalidPayload, "%.40q is not a homie id", id)
		}
		ids[i] = id
	}
	h.meta.update(key, func(old homieMeta, _ bool) (homieMeta, bool) {
		old.list = ids
		return old, true
	})
	return fmt.Errorf("%w: homie attribute learnt", ErrIgnored)
}

// learnAttr learns one property attribute; an empty payload clears it.
func (h *Homie) learnAttr(key, attr string, p []byte) error {
	s := string(p)
	switch attr {
	case "$datatype":
		if s != "" && !homieDatatypes[s] {
			return Reject(ReasonInvalidPayload, "$datatype %.40q is not a homie datatype", s)
		}
	case "$settable", "$retained":
		if s != "" && s != "true" && s != "false" {
			return Reject(ReasonInvalidPayload, "%s %.40q, want true or false", attr, s)
		}
	case "$unit":
		if len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Reject(ReasonInvalidPayload, "$unit %.40q is not a unit", s)
		}
	case "$name", "$format":
	default:
		return fmt.Errorf("%w: homie property attribute %s", ErrIgnored, attr)
	}
	h.meta.update(key, func(old homieMeta, _ bool) (homieMeta, bool) {
		switch attr {
		case "$datatype":
			old.datatype = s
		case "$unit":
			old.unit = s
		case "$settable":
			old.settable = s == "true"
		}
		return old, true // any attribute announces the property
	})
	return fmt.Errorf("%w: homie attribute learnt", ErrIgnored)
}

var homieV5Datatypes = map[string]bool{
	"integer": true, "float": true, "boolean": true, "string": true, "enum": true,
	"color": true, "datetime": true, "duration": true, "json": true,
}

// learnDescription learns a v5 $description document.
func (h *Homie) learnDescription(base, dev string, p []byte) error {
	if len(p) == 0 {
		h.meta.delete(learntKey(base, "5", dev))
		return fmt.Errorf("%w: homie device removed", ErrIgnored)
	}
	obj, err := decodeObject(p)
	if err != nil {
		return err
	}
	nv, _ := lookup(obj, "nodes")
	nodes, _ := nv.(map[string]any)
	type prop struct {
		key  string
		meta homieMeta
	}
	var props []prop
	nodeIDs := make([]string, 0, len(nodes))
	for nid, n := range nodes {
		no, ok := n.(map[string]any)
		if !homieID(nid) || !ok {
			return Reject(ReasonInvalidPayload, "node %.40q is not a homie node object", nid)
		}
		nodeIDs = append(nodeIDs, nid)
		ps, _ := no["properties"].(map[string]any)
		propIDs := make([]string, 0, len(ps))
		for pid, pv := range ps {
			po, ok := pv.(map[string]any)
			if !homieID(pid) || !ok {
				return Reject(ReasonInvalidPayload, "property %.40q is not a homie property object", pid)
			}
			dt, _ := po["datatype"].(string)
			if !homieV5Datatypes[dt] {
				return Reject(ReasonInvalidPayload, "property %s: datatype %.40q", pid, dt)
			}
			unit, _ := po["unit"].(string)
			settable, _ := po["settable"].(bool)
			propIDs = append(propIDs, pid)
			props = append(props, prop{learntKey(base, "5", dev, nid, pid), homieMeta{datatype: dt, unit: unit, settable: settable}})
		}
		sort.Strings(propIDs)
		props = append(props, prop{learntKey(base, "5", dev, nid), homieMeta{list: propIDs}})
		if len(props) > homieMaxList {
			return Reject(ReasonTooLarge, "more than %d nodes and properties", homieMaxList)
		}
	}
	sort.Strings(nodeIDs)
	props = append(props, prop{learntKey(base, "5", dev), homieMeta{list: nodeIDs}})
	for _, pr := range props {
		h.meta.set(pr.key, pr.meta)
	}
	return fmt.Errorf("%w: homie description learnt", ErrIgnored)
}

// homieStats maps the legacy stats extension (v3 core, v4 extension
// org.homie.legacy-stats) to metric names.
var homieStats = map[string]string{
	"uptime": "uptime", "signal": "signal", "battery": "battery", "supply": "voltage",
	"cputemp": "cpu_temperature", "cpuload": "cpu_load", "freeheap": "free_heap",
}

func (h *Homie) stats(dev, stat string, m Message) ([]Reading, error) {
	name, ok := homieStats[stat]
	if !ok || len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: homie stat %s", ErrIgnored, stat)
	}
	f, isNum, err := numericString(string(m.Payload))
	if err != nil {
		return nil, err
	}
	if !isNum {
		return nil, Reject(ReasonInvalidPayload, "$stats/%s %.40q is not a number", stat, m.Payload)
	}
	r := newReading(h.Family(), dev, m)
	if err := setMetric(&r, name, f); err != nil {
		return nil, err
	}
	return []Reading{r}, nil
}

// metricName names a property: canonical when its id is, instance-prefixed
// unless node is the device's primary node.
func (h *Homie) metricName(base, ver, dev, node, prop, datatype string) string {
	name := SnakeCase(prop)
	if datatype == "boolean" {
		switch name {
		case "on", "power", "state", "switch", "relay":
			name = "state"
		}
	} else if c, ok := canonicalID(name); ok {
		name = c
	}
	if d, ok := h.meta.get(learntKey(base, ver, dev)); ok && len(d.list) > 0 && d.list[0] == node {
		return name
	}
	return node + "." + name
}

func (h *Homie) value(base, ver, dev, node, prop string, m Message) ([]Reading, error) {
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained value [MQTT-3.3.1-10]
	}
	meta, _ := h.meta.get(learntKey(base, ver, dev, node, prop))
	s := string(m.Payload)
	if s == "\x00" {
		s = "" // v5: an empty string value is one NUL byte
	}
	if meta.datatype == "" {
		// $datatype is required (v4 "Property Attributes"; v5
		// description), but it arrives on its own retained topic, in no
		// set order with the value, and some firmwares never send it.
		// Until it is known the value is read by its form; the property
		// is refined once $datatype (and $unit, which applies as soon as
		// it is known) arrive. A node whose property list is known ($properties,
		// v5 $description) and does not name it has no such property.
		if props, ok := h.meta.get(learntKey(base, ver, dev, node)); ok && len(props.list) > 0 && !slices.Contains(props.list, prop) {
			return nil, fmt.Errorf("%w: homie property %s/%s is not among the node's properties", ErrIgnored, node, prop)
		}
		dt, ok := homieInferType(s)
		if !ok {
			return nil, fmt.Errorf("%w: homie property %s/%s has no $datatype and its value is not a plain value", ErrIgnored, node, prop)
		}
		meta.datatype = dt
	}
	r := newReading(h.Family(), dev, m)
	name := h.metricName(base, ver, dev, node, prop, meta.datatype)
	number := func() error {
		f, isNum, err := numericString(s)
		if err != nil {
			return err
		}
		if !isNum {
			return Reject(ReasonInvalidPayload, "%s value %.40q is not a number", meta.datatype, s)
		}
		return setMetric(&r, name, convertTo(name, f, meta.unit))
	}
	var err error
	switch meta.datatype {
	case "integer", "float":
		err = number()
	case "boolean":
		switch s {
		case "true", "false":
			err = setMetric(&r, name, s == "true")
		default:
			err = Reject(ReasonInvalidPayload, "boolean value %.40q, want true or false", s)
		}
	case "duration":
		sec, ok := parseISODuration(s)
		if !ok {
			return nil, Reject(ReasonInvalidPayload, "duration %.40q is not ISO 8601 PTnHnMnS", s)
		}
		err = setMetric(&r, name, sec)
	case "json":
		if !json.Valid(m.Payload) {
			return nil, Reject(ReasonInvalidJSON, "json property value is not JSON")
		}
		err = setAttr(&r, name, s)
	default: // string, enum, color, datetime
		err = setAttr(&r, name, s)
	}
	if err != nil {
		return nil, err
	}
	return []Reading{r}, nil
}

// homieInferType is the datatype a value has by its form: "true"/"false"
// are booleans (the only boolean payloads Homie allows), a number is a
// float, other short printable text a string. Anything else (control
// characters, a JSON document, which needs v5's declared json datatype,
// text over homieMaxInferred bytes) is not read without a $datatype: ok is
// false.
func homieInferType(s string) (datatype string, ok bool) {
	if s == "true" || s == "false" {
		return "boolean", true
	}
	if _, isNum, err := numericString(s); err == nil && isNum {
		return "float", true
	}
	if len(s) > homieMaxInferred || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
		strings.ContainsAny(s[:min(len(s), 1)], "{}[]") {
		return "", false
	}
	return "string", true
}

// homieMaxInferred bounds a string value read without a $datatype.
const homieMaxInferred = 256

// parseISODuration reads the ISO 8601 durations Homie uses: PnDTnHnMnS
// with any part optional (e.g. "PT12H5M46S", "PT1.5S").
func parseISODuration(s string) (float64, bool) {
	if len(s) < 2 || len(s) > 64 || s[0] != 'P' {
		return 0, false
	}
	total, inTime, parts := 0.0, false, 0
	num := ""
	for _, c := range s[1:] {
		switch {
		case c == 'T' && !inTime && num == "":
			inTime = true
		case (c >= '0' && c <= '9') || c == '.':
			num += string(c)
		default:
			if num == "" {
				return 0, false
			}
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, false
			}
			var unit float64
			switch {
			case c == 'D' && !inTime:
				unit = 86400
			case c == 'H' && inTime:
				unit = 3600
			case c == 'M' && inTime:
				unit = 60
			case c == 'S' && inTime:
				unit = 1
			default:
				return 0, false
			}
			total += f * unit
			num, parts = "", parts+1
		}
	}
	if num != "" || parts == 0 || math.IsInf(total, 0) {
		return 0, false
	}
	return total, true
}

// homieSampleV5 picks, by a hash of the device id, which version a
// simulated device speaks.
func homieSampleV5(device string) bool {
	h := fnv.New32a()
	h.Write([]byte(device))
	return h.Sum32()%4 == 3
}

// Availability implements Sampler: $state ready as the device's last
// announcement, lost as its will.
func (*Homie) Availability(base, device string, online bool) (Message, bool) {
	state := "lost"
	if online {
		state = "ready"
	}
	prefix := device
	if homieSampleV5(device) {
		prefix = "5/" + device
	}
	return Message{Topic: JoinBase(base, prefix+"/$state"), Payload: []byte(state), Retained: true}, true
}

// Sample implements Sampler: a climate node (temperature, in °F for some
// devices, humidity, battery) and a relay node with a settable boolean
// power property, announced as the convention requires (retained
// attributes before values; the simulator re-announces every round, which a
// real device does once per connection).
func (*Homie) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	hs := fnv.New32a()
	hs.Write([]byte(device))
	fahrenheit := hs.Sum32()%3 == 0
	temp, unit := 18+rnd.Float64()*8, "°C"
	if fahrenheit {
		temp, unit = temp*9/5+32, "°F"
	}
	on := "false"
	if rnd.IntN(3) != 0 {
		on = "true"
	}
	var msgs []Message
	add := func(topic, payload string) {
		msgs = append(msgs, Message{Topic: JoinBase(base, topic), Payload: []byte(payload), Retained: true, ReceivedAt: now})
	}
	d := device
	if homieSampleV5(device) {
		d = "5/" + device
		desc := map[string]any{"homie": "5.0", "version": 1, "name": device, "nodes": map[string]any{
			"climate": map[string]any{"name": "Climate", "properties": map[string]any{
				"temperature": map[string]any{"datatype": "float", "unit": unit},
				"humidity":    map[string]any{"datatype": "float", "unit": "%"},
				"battery":     map[string]any{"datatype": "integer", "unit": "%"},
			}},
			"relay": map[string]any{"name": "Relay", "properties": map[string]any{
				"power": map[string]any{"datatype": "boolean", "settable": true},
			}},
		}}
		b, _ := json.Marshal(desc)
		add(d+"/$description", string(b))
	} else {
		add(d+"/$homie", "4.0.0")
		add(d+"/$name", device)
		add(d+"/$nodes", "climate,relay")
		add(d+"/climate/$name", "Climate")
		add(d+"/climate/$properties", "temperature,humidity,battery")
		for _, p := range []struct{ id, dt, unit string }{{"temperature", "float", unit}, {"humidity", "float", "%"}, {"battery", "integer", "%"}} {
			add(d+"/climate/"+p.id+"/$datatype", p.dt)
			add(d+"/climate/"+p.id+"/$unit", p.unit)
		}
		add(d+"/relay/$name", "Relay")
		add(d+"/relay/$properties", "power")
		add(d+"/relay/power/$datatype", "boolean")
		add(d+"/relay/power/$settable", "true")
	}
	add(d+"/climate/temperature", strconv.FormatFloat(math.Round(temp*10)/10, 'f', 1, 64))
	add(d+"/climate/humidity", strconv.FormatFloat(math.Round((35+rnd.Float64()*30)*10)/10, 'f', 1, 64))
	add(d+"/climate/battery", strconv.Itoa(60+rnd.IntN(41)))
	add(d+"/relay/power", on)
	return msgs
}

// Command implements Commander with the property set topic of the
// convention: <base>/[5/]<device>/<node>/<property>/set, the value as plain
// text, non-retained. Only properties announced settable are commanded:
//
//	set      args {"node":"relay","property":"power","value":true}
//	on, off  args optional {"node":…,"property":…}; without them the device's
//	         one settable boolean property (refused when there are several)
//
// Homie has no toggle: the controller would have to know the state.
func (h *Homie) Command(base, device, name string, args []byte) (Message, error) {
	family := h.Family()
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	if !homieID(device) {
		return Message{}, invalidCommand(family, "device %q is not a homie device id", device)
	}
	v, err := commandArgs(family, args)
	if err != nil {
		return Message{}, err
	}
	var node, prop string
	var value any
	if v != nil {
		o, ok := v.(map[string]any)
		if !ok {
			return Message{}, invalidCommand(family, `args must be an object {"node","property","value"}`)
		}
		node, _ = o["node"].(string)
		prop, _ = o["property"].(string)
		value = o["value"]
	}
	switch name {
	case "on", "off":
		if value != nil {
			return Message{}, invalidCommand(family, "%s takes no value", name)
		}
		value = name == "on"
		if node == "" && prop == "" {
			if node, prop, err = h.onlySwitch(base, device); err != nil {
				return Message{}, err
			}
		}
	case "set":
		if value == nil {
			return Message{}, invalidCommand(family, "set needs a value")
		}
	default:
		return Message{}, invalidCommand(family, "unknown command %q (want set, on, off)", name)
	}
	if !homieID(node) || !homieID(prop) {
		return Message{}, invalidCommand(family, "node %q and property %q must be homie ids", node, prop)
	}
	ver, meta, ok := h.property(base, device, node, prop)
	if !ok || !meta.settable {
		return Message{}, invalidCommand(family, "%s/%s/%s was not announced settable", device, node, prop)
	}
	text, err := homieValueText(meta.datatype, value)
	if err != nil {
		return Message{}, invalidCommand(family, "%s/%s: %v", node, prop, err)
	}
	prefix := device
	if ver == "5" {
		prefix = "5/" + device
	}
	return Message{Topic: JoinBase(base, prefix+"/"+node+"/"+prop+"/set"), Payload: []byte(text)}, nil
}

// property finds a learnt property under v5 first, then v4.
func (h *Homie) property(base, device, node, prop string) (string, homieMeta, bool) {
	for _, ver := range []string{"5", "4"} {
		if m, ok := h.meta.get(learntKey(base, ver, device, node, prop)); ok {
			return ver, m, true
		}
	}
	return "", homieMeta{}, false
}

// onlySwitch returns the device's single settable boolean property.
func (h *Homie) onlySwitch(base, device string) (node, prop string, err error) {
	found := 0
	for _, ver := range []string{"5", "4"} {
		d, _ := h.meta.get(learntKey(base, ver, device))
		for _, n := range d.list {
			nm, _ := h.meta.get(learntKey(base, ver, device, n))
			for _, p := range nm.list {
				if pm, ok := h.meta.get(learntKey(base, ver, device, n, p)); ok && pm.settable && pm.datatype == "boolean" {
					node, prop = n, p
					found++
				}
			}
		}
		if found > 0 {
			break
		}
	}
	if found != 1 {
		return "", "", invalidCommand(h.Family(), "device %q has %d settable boolean properties, name one in args", device, found)
	}
	return node, prop, nil
}

// homieValueText formats a command value as the property's datatype
// requires (the convention's payload rules).
func homieValueText(datatype string, v any) (string, error) {
	switch x := v.(type) {
	case bool:
		if datatype != "boolean" && datatype != "" {
			return "", fmt.Errorf("boolean value for a %s property", datatype)
		}
		return strconv.FormatBool(x), nil
	case json.Number:
		f, err := parseNumber(x)
		if err != nil {
			return "", err
		}
		switch datatype {
		case "integer":
			if f != math.Trunc(f) {
				return "", fmt.Errorf("%s is not an integer", x)
			}
			return strconv.FormatFloat(f, 'f', -1, 64), nil
		case "float", "":
			return strconv.FormatFloat(f, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("number value for a %s property", datatype)
	case string:
		switch datatype {
		case "boolean":
			if x != "true" && x != "false" {
				return "", fmt.Errorf("boolean value %q", x)
			}
		case "integer", "float":
			if _, isNum, err := numericString(x); !isNum || err != nil {
				return "", fmt.Errorf("%q is not a number", x)
			}
		}
		if x == "" {
			return "\x00", nil // an empty string is one NUL byte (an empty payload deletes)
		}
		return x, nil
	}
	return "", fmt.Errorf("value must be a string, number or boolean")
}

// Sequential implements Sequential: decoding depends on earlier
// messages of the source on other topics.
func (*Homie) Sequential() {}

var _ Sequential = (*Homie)(nil)
