package devices

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// haAbbrev expands the abbreviated keys of discovery payloads that this
// family reads (https://www.home-assistant.io/integrations/mqtt/, "Supported
// abbreviations in MQTT discovery messages"). Other keys are not needed.
var haAbbrev = map[string]string{
	"avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
	"avty_tpl": "availability_template", "dev": "device", "dev_cla": "device_class",
	"obj_id": "object_id", "pl_avail": "payload_available", "pl_not_avail": "payload_not_available",
	"pl_on": "payload_on", "pl_off": "payload_off", "stat_t": "state_topic",
	"stat_val_tpl": "state_value_template", "stat_on": "state_on", "stat_off": "state_off",
	"uniq_id": "unique_id", "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template",
	"t": "topic", "cmps": "components", "p": "platform", "o": "origin", "cmd_t": "command_topic",
	"json_attr_t": "json_attributes_topic", "stat_cla": "state_class",
	// device
	"ids": "identifiers", "cns": "connections", "mf": "manufacturer", "mdl": "model",
	"sw": "sw_version", "hw": "hw_version", "sa": "suggested_area",
}

// haComponents are the entity platforms whose state is decoded.
var haComponents = map[string]bool{"sensor": true, "binary_sensor": true, "switch": true, "light": true, "fan": true}

// haEntity is one learnt discovery config.
type haEntity struct {
	key        string // base, discovery topic and component id
	kind       string // sensor, binary_sensor, switch, light, light_json, fan
	device     string
	info       map[string]string // device name, model … (attrs of every Reading)
	stateTopic string
	tpl        haTemplate
	tplOK      bool
	name       string // metric name before claiming
	instance   string // prefix when another entity holds name
	metric     string // name after claiming
	unit       string
	on, off    string // binary state payloads
	invert     bool   // contact: Home Assistant's ON is open, READINGS.md's true is closed
	avail      []haAvail
	availMode  string // latest (default), all, any
	availSeen  []int8 // per avail: 0 unknown, 1 available, -1 not; guarded by HomeAssistant.mu
}

type haAvail struct {
	topic, on, off string
	tpl            haTemplate
	tplOK          bool
}

// haExpand expands abbreviated keys of one object (not recursively).
func haExpand(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if full, ok := haAbbrev[k]; ok {
			if _, dup := m[full]; dup {
				continue // the full key wins
			}
			k = full
		}
		out[k] = v
	}
	return out
}

// haTilde expands '~' at the start or end of a topic option.
func haTilde(v, base string) string {
	if base == "" {
		return v
	}
	switch {
	case strings.HasPrefix(v, "~"):
		return base + v[1:]
	case strings.HasSuffix(v, "~"):
		return v[:len(v)-1] + base
	}
	return v
}

// haText renders a payload option: discovery payloads may give
// payload_on as a string, a number or a JSON boolean (Zigbee2MQTT sends
// true/false for binary sensors).
func haText(v any, def string) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return fmt.Sprint(x)
	case json.Number:
		return string(x)
	}
	return def
}

// parseHAConfig turns one discovery payload into entities. component and
// the topic ids come from the discovery topic
// <prefix>/<component>/[<node_id>/]<object_id>/config; component "device"
// is device discovery, whose "cmps" hold the entities.
func parseHAConfig(base, topic, component, nodeID, objectID string, p []byte) ([]*haEntity, error) {
	obj, err := decodeValue(p)
	if err != nil {
		return nil, err
	}
	raw, ok := obj.(map[string]any)
	if !ok {
		return nil, Reject(ReasonInvalidPayload, "discovery config is a JSON %s, want an object", jsonKind(obj))
	}
	top := haExpand(raw)
	if component != "device" {
		e, err := haEntityOf(base, topic, component, nodeID, objectID, "", top)
		if e == nil || err != nil {
			return nil, err
		}
		return []*haEntity{e}, nil
	}
	cmps, ok := top["components"].(map[string]any)
	if !ok {
		return nil, Reject(ReasonInvalidPayload, "device discovery config without components")
	}
	ids := make([]string, 0, len(cmps))
	for id := range cmps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []*haEntity
	for _, id := range ids {
		c, ok := cmps[id].(map[string]any)
		if !ok {
			return nil, Reject(ReasonInvalidPayload, "component %.40q is not an object", id)
		}
		merged := make(map[string]any, len(top)+len(c))
		for k, v := range top {
			if k != "components" {
				merged[k] = v // shared options: device, origin, state_topic, availability…
			}
		}
		for k, v := range haExpand(c) {
			merged[k] = v
		}
		platform, _ := merged["platform"].(string)
		e, err := haEntityOf(base, topic, platform, nodeID, id, id, merged)
		if err != nil {
			return nil, err
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// haEntityOf builds one entity; nil without error for a platform this
// family does not decode or an entity without a state topic.
func haEntityOf(base, topic, component, nodeID, objectID, cmpID string, c map[string]any) (*haEntity, error) {
	tilde, _ := c["~"].(string)
	str := func(k string) string { s, _ := c[k].(string); return s }
	e := &haEntity{key: learntKey(base, topic, cmpID), kind: component}
	dev, _ := c["device"].(map[string]any)
	dev = haExpand(dev)
	e.device = haDeviceID(dev, nodeID, str("unique_id"), objectID)
	if e.device == "" {
		return nil, Reject(ReasonInvalidPayload, "discovery config names no device")
	}
	for _, k := range []string{"name", "model", "manufacturer", "sw_version"} {
		if s, ok := dev[k].(string); ok && s != "" {
			if e.info == nil {
				e.info = make(map[string]string, 4)
			}
			e.info[k] = s
		}
	}
	e.avail = haAvailability(c, tilde)
	e.availSeen = make([]int8, len(e.avail))
	e.availMode = str("availability_mode")
	if !haComponents[component] {
		return nil, nil
	}
	e.stateTopic = haTilde(str("state_topic"), tilde)
	if e.stateTopic == "" || ValidTopic(e.stateTopic) != nil {
		return nil, nil // write-only entity, or a topic no message can have
	}
	tplText := str("value_template")
	if component == "light" {
		if str("schema") == "json" {
			e.kind = "light_json"
		}
		tplText = str("state_value_template")
	}
	e.tpl, e.tplOK = parseHATemplate(tplText)
	e.unit = str("unit_of_measurement")
	e.on, e.off = haText(c["payload_on"], "ON"), haText(c["payload_off"], "OFF")
	if component != "binary_sensor" {
		// switch, light, fan: state_on/state_off default to the payloads.
		e.on, e.off = haText(c["state_on"], e.on), haText(c["state_off"], e.off)
	}
	e.name = haMetricName(component, str("device_class"), e.unit, e.tpl.key(), str("name"), objectID, &e.invert)
	e.instance = SnakeCase(objectID)
	if e.instance == "_" || objectID == "" {
		e.instance = SnakeCase(str("unique_id"))
	}
	return e, nil
}

// haDeviceID picks the device id: the first of device.identifiers (the
// id Home Assistant's device registry uses; stable where names change),
// else the first connection ("mac:…"), else the discovery topic's node_id,
// unique_id or object_id.
func haDeviceID(dev map[string]any, nodeID, uniqueID, objectID string) string {
	switch ids := dev["identifiers"].(type) {
	case string:
		if ids != "" {
			return ids
		}
	case []any:
		if len(ids) > 0 {
			if s, ok := ids[0].(string); ok && s != "" {
				return s
			}
		}
	}
	if cns, ok := dev["connections"].([]any); ok && len(cns) > 0 {
		if pair, ok := cns[0].([]any); ok && len(pair) == 2 {
			a, _ := pair[0].(string)
			b, _ := pair[1].(string)
			if a != "" && b != "" {
				return a + ":" + b
			}
		}
	}
	for _, s := range []string{nodeID, uniqueID, objectID} {
		if s != "" {
			return s
		}
	}
	return ""
}

// haAvailability reads availability_topic or the availability list.
func haAvailability(c map[string]any, tilde string) []haAvail {
	on := haText(c["payload_available"], "online")
	off := haText(c["payload_not_available"], "offline")
	var out []haAvail
	if t, ok := c["availability_topic"].(string); ok && t != "" {
		tpl, tplOK := parseHATemplate(haText(c["availability_template"], ""))
		out = append(out, haAvail{topic: haTilde(t, tilde), on: on, off: off, tpl: tpl, tplOK: tplOK})
	}
	list, _ := c["availability"].([]any)
	for _, a := range list {
		m, ok := a.(map[string]any)
		if !ok {
			continue
		}
		m = haExpand(m)
		t, _ := m["topic"].(string)
		if t == "" {
			continue
		}
		tpl, tplOK := parseHATemplate(haText(m["value_template"], ""))
		out = append(out, haAvail{topic: haTilde(t, tilde),
			on: haText(m["payload_available"], "online"), off: haText(m["payload_not_available"], "offline"),
			tpl: tpl, tplOK: tplOK})
	}
	valid := out[:0]
	for _, a := range out {
		if ValidTopic(a.topic) == nil {
			valid = append(valid, a)
		}
	}
	return valid
}

// haSensorClasses maps sensor device classes to READINGS.md names; the
// unit decides between alternatives.
func haSensorClass(class, unit string) (string, bool) {
	u := strings.ToLower(unit)
	switch class {
	case "temperature", "humidity", "pressure", "voltage", "current", "power", "energy", "illuminance", "pm10", "pm25":
		return class, true
	case "atmospheric_pressure":
		return "pressure", true
	case "battery":
		if u == "v" || u == "mv" {
			return "voltage", true // a battery voltage is voltage (READINGS.md)
		}
		return "battery", true
	case "signal_strength":
		if u == "dbm" {
			return "rssi", true
		}
		if u == "%" {
			return "signal", true
		}
	case "carbon_dioxide", "co2":
		return "co2", true
	case "volatile_organic_compounds_parts":
		return "voc", true // ppb or ppm; ppm is converted
	}
	return "", false
}

// haMetricName decides an entity's metric name: the device class, else a
// canonical id among the value_template's JSON key, the entity name and
// the object id, else the first of those as snake_case.
func haMetricName(component, class, unit, key, name, objectID string, invert *bool) string {
	switch component {
	case "switch", "light", "fan":
		return "state"
	case "binary_sensor":
		switch class {
		case "door", "window", "opening", "garage_door":
			*invert = true
			return "contact"
		case "motion", "occupancy", "presence":
			return "occupancy"
		}
	case "sensor":
		if c, ok := haSensorClass(class, unit); ok {
			return c
		}
	}
	cands := []string{SnakeCase(key), SnakeCase(name), SnakeCase(objectID)}
	for _, c := range cands {
		if n, ok := canonicalID(c); ok && (component == "sensor" || n == "contact" || n == "occupancy") {
			return n
		}
	}
	for _, c := range cands {
		if c != "_" {
			return c
		}
	}
	return component
}
