package devices

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// ESPHome decodes ESPHome's native MQTT topics
// (https://esphome.io/components/mqtt.html), below a base:
//
//	<base>/<node>/status                         "online" / "offline" (birth, will, shutdown)
//	<base>/<node>/sensor/<object_id>/state       a number as text, "nan" when unknown
//	<base>/<node>/number/<object_id>/state       a number as text
//	<base>/<node>/binary_sensor/<object_id>/state "ON" / "OFF"
//	<base>/<node>/switch/<object_id>/state       "ON" / "OFF"
//	<base>/<node>/fan/<object_id>/state          "ON" / "OFF"
//	<base>/<node>/light/<object_id>/state        JSON {"state":"ON","brightness":255,…}
//
// ESPHome's topic_prefix defaults to the node name, so without a base the
// node is the first topic level. Its filters ("+/status",
// "+/sensor/+/state") then overlap every family that owns a whole prefix
// ("zigbee2mqtt/#" matches "zigbee2mqtt/status"), and the Router refuses
// overlapping sources. The default base is therefore "esphome", for nodes
// configured with topic_prefix: esphome/<node> (and the birth and will
// topics that follow it); nodes at their default prefix are listed in the
// source's devices (Mount.Devices: one "<node>/#" filter each), and base ""
// alone is for a broker or tenant prefix that carries ESPHome nodes only.
//
// The node is the device id. Object ids are mapped to READINGS.md names
// when they are exactly a canonical id ("temperature", "wifi_signal" →
// rssi, "uptime"), with the node's own name as a prefix allowed
// ("kitchen_temperature" on node "kitchen"); otherwise they pass through as
// snake_case. The state topics carry no unit: values are taken as sent
// (ESPHome's sensor platforms report °C, %, hPa, V, A, W, dBm, s), and a
// user who converted units on the device should use the homeassistant
// family, whose discovery configs carry the unit. Text sensors, selects,
// locks, covers and climate topics are not subscribed.
type ESPHome struct{}

var (
	_ Handler   = ESPHome{}
	_ Sampler   = ESPHome{}
	_ Staler    = ESPHome{}
	_ Commander = ESPHome{}
	_ Handler   = (*ESPHome)(nil)
)

// Family implements Handler.
func (ESPHome) Family() string { return "esphome" }

// DefaultBase implements Handler; see the type's comment for why it is not
// empty.
func (ESPHome) DefaultBase() string { return "esphome" }

// esphomeComponents are the component types whose state topics are
// decoded; each is one filter.
var esphomeComponents = []string{"sensor", "number", "binary_sensor", "switch", "fan", "light"}

// Filters implements Handler: the status topic and one state filter per
// decoded component type, so other topics below a node (commands, debug
// logs, discovery) are not claimed.
func (ESPHome) Filters(base string) []string {
	fs := []string{JoinBase(base, "+/status")}
	for _, c := range esphomeComponents {
		fs = append(fs, JoinBase(base, "+/"+c+"/+/state"))
	}
	return fs
}

// StaleAfter implements Staler: sensors publish every update_interval
// (60 s by default) and ESPHome's own discovery sets no expiry; five missed
// intervals mean the node is gone even if its will was lost.
func (ESPHome) StaleAfter() time.Duration { return 5 * time.Minute }

// Decode implements Handler.
func (e ESPHome) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	levels := strings.Split(rest, "/")
	if levels[0] == "" {
		return nil, Reject(ReasonInvalidTopic, "topic %q names no node", m.Topic)
	}
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained message [MQTT-3.3.1-10]
	}
	node := levels[0]
	r := newReading(e.Family(), node, m)
	switch {
	case len(levels) == 2 && levels[1] == "status":
		var online bool
		switch string(m.Payload) {
		case "online":
			online = true
		case "offline":
		default:
			return nil, Reject(ReasonInvalidPayload, "status is %.40q, want online or offline", m.Payload)
		}
		r.Online = &online
		return []Reading{r}, nil
	case len(levels) == 4 && levels[3] == "state" && levels[2] != "" && esphomeDecoded(levels[1]):
		if err := esphomeState(&r, node, levels[1], levels[2], m.Payload); err != nil {
			return nil, err
		}
		return []Reading{r}, nil
	case len(levels) >= 2 && !esphomeDecoded(levels[1]):
		// A source with devices subscribes "<node>/#": the logger's
		// <node>/debug, text sensors, selects, covers and climate topics
		// are the node's, but not decoded.
		return nil, fmt.Errorf("%w: esphome %.40s topic", ErrIgnored, levels[1])
	case len(levels) >= 4 && (levels[len(levels)-1] == "command" || levels[len(levels)-2] == "command"):
		// <node>/switch/<id>/command, <node>/light/<id>/brightness/command…
		return nil, fmt.Errorf("%w: esphome command topic", ErrIgnored)
	}
	return nil, Reject(ReasonInvalidTopic, "topic %q is not <node>/status or <node>/<component>/<object_id>/state", m.Topic)
}

// esphomeDecoded reports whether component's state topics are decoded.
func esphomeDecoded(component string) bool {
	for _, c := range esphomeComponents {
		if c == component {
			return true
		}
	}
	return false
}

// RootDevice implements RootDevices: with topic_prefix at its default, a
// node's topics are "<node>/…" at the broker's root. Decode takes the
// first level below the base as the node, so an id is one level: for a
// prefix "home/kitchen-node", the levels above the node are the base.
func (ESPHome) RootDevice(id string) error {
	if strings.IndexByte(id, '/') >= 0 {
		return fmt.Errorf("an ESPHome node is one topic level; for topic_prefix %q set base %q and list %q",
			id, id[:strings.LastIndexByte(id, '/')], id[strings.LastIndexByte(id, '/')+1:])
	}
	return nil
}

// esphomeName maps an object id to the metric name: canonical when the id
// (or the id without a "<node>_" prefix) is a canonical id, else snake_case.
func esphomeName(node, object string) string {
	id := SnakeCase(object)
	if c, ok := canonicalID(id); ok {
		return c
	}
	if p := SnakeCase(node) + "_"; strings.HasPrefix(id, p) {
		if c, ok := canonicalID(id[len(p):]); ok {
			return c
		}
	}
	return id
}

// esphomeMain reports whether a switch, fan or light object is the node's
// main one, whose state is READINGS.md's plain "state": an entity with
// name None takes the node's name as its object id (ESPHome's convention
// for "the main feature of the device"), and the generic names below are
// what single-relay configurations use. Other objects are
// "<object_id>.state".
func esphomeMain(node, object string) bool {
	switch object {
	case "relay", "switch", "power", "state", "light", "fan", "plug", "outlet":
		return true
	}
	return SnakeCase(object) == SnakeCase(node)
}

func esphomeState(r *Reading, node, component, object string, p []byte) error {
	switch component {
	case "sensor", "number":
		s := strings.TrimSpace(string(p))
		if strings.EqualFold(s, "nan") {
			// A sensor without a valid value publishes NaN as "nan": the
			// metric is absent, not zero (READINGS.md).
			return fmt.Errorf("%w: esphome %s %s has no value (nan)", ErrIgnored, component, object)
		}
		f, isNum, err := numericString(s)
		if err != nil {
			return err
		}
		if !isNum {
			return Reject(ReasonInvalidPayload, "%s state %.40q is not a number", component, p)
		}
		return setMetric(r, esphomeName(node, object), f)
	case "binary_sensor":
		on, ok := esphomeOnOff(p)
		if !ok {
			return Reject(ReasonInvalidPayload, "binary_sensor state %.40q, want ON or OFF", p)
		}
		name := esphomeName(node, object)
		switch name {
		case "door", "window", "opening", "garage_door":
			// Home Assistant's opening classes say ON = open; READINGS.md's
			// contact is true = closed.
			return setMetric(r, "contact", !on)
		case "motion", "presence":
			name = "occupancy"
		}
		return setMetric(r, name, on)
	case "switch", "fan":
		on, ok := esphomeOnOff(p)
		if !ok {
			return Reject(ReasonInvalidPayload, "%s state %.40q, want ON or OFF", component, p)
		}
		return setMetric(r, esphomeStateName(node, object), on)
	case "light":
		return esphomeLight(r, node, object, p)
	}
	return Reject(ReasonInvalidTopic, "component %q is not decoded", component)
}

func esphomeStateName(node, object string) string {
	if esphomeMain(node, object) {
		return "state"
	}
	return SnakeCase(object) + ".state"
}

func esphomeOnOff(p []byte) (on, ok bool) {
	switch string(p) {
	case "ON":
		return true, true
	case "OFF":
		return false, true
	}
	return false, false
}

// esphomeLight decodes the JSON light schema ESPHome publishes: state,
// brightness (0-255), color_temp, color {r,g,b,…}, white_value, effect.
// Fields other than state keep the light's prefix unless it is the main one.
func esphomeLight(r *Reading, node, object string, p []byte) error {
	obj, err := decodeObject(p)
	if err != nil {
		return err
	}
	prefix := ""
	if !esphomeMain(node, object) {
		prefix = SnakeCase(object) + "."
	}
	for _, mb := range obj {
		if mb.val == nil {
			continue
		}
		if mb.key == "state" {
			s, _ := mb.val.(string)
			on, ok := esphomeOnOff([]byte(s))
			if !ok {
				return Reject(ReasonInvalidPayload, "light state %.40q, want ON or OFF", s)
			}
			if err := setMetric(r, prefix+"state", on); err != nil {
				return err
			}
			continue
		}
		if err := flatten(r, prefix+SnakeCase(mb.key), mb.val); err != nil {
			return err
		}
	}
	return nil
}

// Availability implements Sampler: ESPHome's default birth and will
// messages, retained.
func (ESPHome) Availability(base, device string, online bool) (Message, bool) {
	p := "offline"
	if online {
		p = "online"
	}
	return Message{Topic: JoinBase(base, device+"/status"), Payload: []byte(p), Retained: true}, true
}

// Sample implements Sampler. By a hash of its name a node is either a
// BME280 climate node (temperature, humidity, pressure, Wi-Fi signal,
// uptime, a PIR motion binary sensor) or a smart plug with an HLW8012
// meter (relay, power, voltage, current, energy), with the object ids and
// value formats ESPHome's component pages give (accuracy_decimals applied).
func (ESPHome) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	h := fnv.New32a()
	h.Write([]byte(device))
	msg := func(component, object, payload string) Message {
		return Message{Topic: JoinBase(base, device+"/"+component+"/"+object+"/state"),
			Payload: []byte(payload), Retained: true, ReceivedAt: now}
	}
	uptime := float64(now.Unix()%86400) + float64(h.Sum32()%1000)
	if h.Sum32()%2 == 0 {
		motion := "OFF"
		if rnd.IntN(5) == 0 {
			motion = "ON"
		}
		return []Message{
			msg("sensor", "temperature", fmt.Sprintf("%.1f", 18+rnd.Float64()*8)),
			msg("sensor", "humidity", fmt.Sprintf("%.1f", 35+rnd.Float64()*30)),
			msg("sensor", "pressure", fmt.Sprintf("%.1f", 990+rnd.Float64()*40)),
			msg("sensor", "wifi_signal", fmt.Sprintf("%d", -40-rnd.IntN(45))),
			msg("sensor", "uptime", fmt.Sprintf("%.0f", uptime)),
			msg("binary_sensor", "motion", motion),
		}
	}
	on := rnd.IntN(4) != 0
	state, power := "OFF", 0.0
	if on {
		state, power = "ON", 5+rnd.Float64()*1500
	}
	voltage := 225 + rnd.Float64()*10
	hours := now.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Hours()
	return []Message{
		msg("switch", "relay", state),
		msg("sensor", "power", fmt.Sprintf("%.1f", power)),
		msg("sensor", "voltage", fmt.Sprintf("%.1f", voltage)),
		msg("sensor", "current", fmt.Sprintf("%.3f", power/voltage)),
		msg("sensor", "energy", fmt.Sprintf("%.3f", max(0, hours)*0.05*usageScale(device))),
		msg("sensor", "wifi_signal", fmt.Sprintf("%d", -40-rnd.IntN(45))),
	}
}

// Command implements Commander with the command topics ESPHome subscribes
// (https://esphome.io/components/mqtt.html, "command_topic"):
//
//	on, off, toggle   <base>/<device>/switch/<object_id>/command  "ON" | "OFF" | "TOGGLE"
//
// args name the switch: {"switch":"<object_id>"} or a JSON string
// "<object_id>"; without args the node's main switch is meant, the one an
// unnamed entity gets: the node name in snake_case.
func (e ESPHome) Command(base, device, name string, args []byte) (Message, error) {
	family := e.Family()
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	if strings.IndexByte(device, '/') >= 0 {
		return Message{}, invalidCommand(family, "device %q: an ESPHome node is one topic level", device)
	}
	payload, ok := onOffCommand(name)
	if !ok {
		return Message{}, invalidCommand(family, "unknown command %q (want on, off, toggle)", name)
	}
	v, err := commandArgs(family, args)
	if err != nil {
		return Message{}, err
	}
	object := SnakeCase(device)
	switch v := v.(type) {
	case nil:
	case string:
		object = v
	case map[string]any:
		s, ok := v["switch"].(string)
		if !ok || len(v) != 1 {
			return Message{}, invalidCommand(family, `args must be {"switch":"<object_id>"}`)
		}
		object = s
	default:
		return Message{}, invalidCommand(family, `args must be {"switch":"<object_id>"} or "<object_id>"`)
	}
	if !esphomeObjectID(object) {
		return Message{}, invalidCommand(family, "switch %q is not an ESPHome object id ([a-z0-9_-])", object)
	}
	return Message{Topic: JoinBase(base, device+"/switch/"+object+"/command"), Payload: []byte(payload)}, nil
}

// esphomeObjectID reports whether s can be an object id: ESPHome builds
// them from the entity name in lower-case snake_case.
func esphomeObjectID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CommandWithState implements StateCommander: without args, on, off and
// toggle go to the switch the device reports as its `state` (its object id
// is lost in that canonical name, so it is read from the topics the device
// was heard on).
func (e ESPHome) CommandWithState(base string, state DeviceState, name string, args []byte) (Message, error) {
	device := state.Reading.Device
	if len(args) == 0 {
		prefix := JoinBase(base, device+"/switch/")
		for _, t := range state.Topics {
			object, ok := strings.CutPrefix(t, prefix)
			if !ok {
				continue
			}
			if object, ok = strings.CutSuffix(object, "/state"); ok && esphomeMain(device, object) {
				args, _ = json.Marshal(object)
				break
			}
		}
	}
	return e.Command(base, device, name, args)
}

var _ StateCommander = ESPHome{}
