package devices

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Gen1 topics and units follow https://shelly-api-docs.shelly.cloud/gen1/
// (per-device "MQTT" sections). Instance 0 of a relay, roller, light or
// meter uses plain names; instance n is "<kind>:<n>.<name>" (relay:1.power),
// the same name whether it came from relay/1/power or from info's
// meters[1], so the two never disagree.

// shellyWattMinutes converts Gen1's watt-minute counters to kWh.
func shellyWattMinutes(v float64) float64 { return roundConv(v / 60000) }

// shellyInstance is the metric prefix of instance n of kind.
func shellyInstance(kind string, n string) string {
	if n == "0" {
		return ""
	}
	return kind + ":" + n + "."
}

// shellyIndex reports whether s is a channel number ("0".."99").
func shellyIndex(s string) bool {
	if s == "" || len(s) > 2 || (len(s) == 2 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shellyGen1Kinds are the channel kinds of Gen1 subtopics <kind>/<n>[/…].
var shellyGen1Kinds = map[string]bool{
	"relay": true, "roller": true, "light": true, "color": true, "white": true, "meter": true, "emeter": true,
	"input": true, "input_event": true, "longpush": true, "ext_temperature": true, "ext_humidity": true,
	"ext_switch": true, "adc": true,
}

// shellyGen1Single are the one-level Gen1 subtopics, decoded or not.
var shellyGen1Single = map[string]bool{
	"info": true, "status": true, "temperature": true, "temperature_f": true, "voltage": true,
	"overtemperature": true, "temperature_status": true, "announce": true, "settings": true,
	"command": true, "online": true,
}

// shellyGen1Sub reports whether sub has the shape of a Gen1 subtopic:
// a one-level name, sensor/<x>, or <kind>/<n>[/…].
func shellyGen1Sub(sub string) bool {
	head, rest, more := cutLevel(sub)
	if !more {
		return shellyGen1Single[head]
	}
	if head == "sensor" {
		return rest != "" && strings.IndexByte(rest, '/') < 0
	}
	n, _, _ := cutLevel(rest)
	return shellyGen1Kinds[head] && shellyIndex(n)
}

// shellyGen1Split splits <id>/<sub>. The MQTT id is the first level unless
// it was set to one with '/' (Gen1's mqtt_id setting takes any text): then
// the subtopic starts at the first level from which the rest has a Gen1
// subtopic's shape ("kitchen/plug/relay/0" is id "kitchen/plug"). A topic
// with no known shape keeps the first level as the id. more is false when
// rest has one level only.
func shellyGen1Split(rest string) (dev, sub string, more bool) {
	dev, sub, more = cutLevel(rest)
	if !more || shellyGen1Sub(sub) {
		return dev, sub, more
	}
	for i := len(dev) + 1; i < len(rest); i++ {
		if rest[i] == '/' && shellyGen1Sub(rest[i+1:]) {
			return rest[:i], rest[i+1:], true
		}
	}
	return dev, sub, more
}

// shellyGen1Topic decodes <base>/<id>/<sub>.
func shellyGen1Topic(r *Reading, sub string, p []byte) error {
	levels := strings.Split(sub, "/")
	if last := levels[len(levels)-1]; last == "command" || last == "set" || (len(levels) > 2 && levels[len(levels)-2] == "command") {
		return fmt.Errorf("%w: shelly gen1 command", ErrIgnored)
	}
	switch len(levels) {
	case 1:
		return shellyGen1Device1(r, sub, p)
	case 2:
		if !shellyIndex(levels[1]) {
			if levels[0] == "sensor" {
				return shellyGen1Sensor(r, levels[1], p)
			}
			break
		}
		return shellyGen1Channel(r, levels[0], levels[1], p)
	case 3:
		if !shellyIndex(levels[1]) {
			break
		}
		return shellyGen1Measure(r, levels[0], levels[1], levels[2], p)
	}
	return fmt.Errorf("%w: shelly gen1 %.60s", ErrIgnored, sub)
}

// shellyGen1Device1 decodes one-level subtopics.
func shellyGen1Device1(r *Reading, sub string, p []byte) error {
	switch sub {
	case "info":
		return shellyGen1JSON(r, p, shellyGen1Info)
	case "status":
		return shellyGen1JSON(r, p, shellyStatusObject)
	case "temperature":
		return shellyGen1Number(r, "device_temperature", p, 1)
	case "voltage":
		return shellyGen1Number(r, "voltage", p, 1)
	case "overtemperature":
		return shellyGen1Bool(r, "overtemperature", p)
	case "temperature_status":
		return setAttr(r, "temperature_status", string(p))
	}
	// announce, settings, temperature_f (a copy in °F)…
	return fmt.Errorf("%w: shelly gen1 %.40s", ErrIgnored, sub)
}

func shellyGen1JSON(r *Reading, p []byte, f func(*Reading, map[string]any) error) error {
	v, err := decodeValue(p)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Reject(ReasonInvalidPayload, "payload is a JSON %s, want an object", jsonKind(v))
	}
	return f(r, obj)
}

// shellyGen1Number stores a number sent as text, times scale.
func shellyGen1Number(r *Reading, name string, p []byte, scale float64) error {
	f, ok, err := numericString(strings.TrimSpace(string(p)))
	if err != nil {
		return err
	}
	if !ok {
		return Reject(ReasonInvalidPayload, "%s is %.40q, want a number", name, string(p))
	}
	if scale != 1 {
		f = roundConv(f * scale)
	}
	return setMetric(r, name, f)
}

// shellyGen1Bool stores 0/1 or true/false.
func shellyGen1Bool(r *Reading, name string, p []byte) error {
	switch string(p) {
	case "1", "true":
		return setMetric(r, name, true)
	case "0", "false":
		return setMetric(r, name, false)
	}
	return Reject(ReasonInvalidPayload, "%s is %.40q, want 0 or 1", name, string(p))
}

// shellyGen1Value stores text as a number, a boolean (true/false) or an attr.
func shellyGen1Value(r *Reading, name string, p []byte) error {
	s := string(p)
	if b, err := shellyBoolText(s); err == nil {
		return setMetric(r, name, b)
	}
	f, ok, err := numericString(s)
	if err != nil {
		return err
	}
	if ok {
		return setMetric(r, name, f)
	}
	return setAttr(r, name, s)
}

func shellyBoolText(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// shellyGen1Channel decodes <kind>/<n>: relay state, roller state, light
// state, binary inputs and add-on sensors.
func shellyGen1Channel(r *Reading, kind, n string, p []byte) error {
	prefix := shellyInstance(kind, n)
	s := string(p)
	switch kind {
	case "relay":
		switch s {
		case "on", "off":
			if err := setMetric(r, prefix+"overpower", false); err != nil {
				return err
			}
			return setMetric(r, prefix+"state", s == "on")
		case "overpower":
			// The relay turned itself off because of overpower.
			if err := setMetric(r, prefix+"overpower", true); err != nil {
				return err
			}
			return setMetric(r, prefix+"state", false)
		}
		return Reject(ReasonInvalidPayload, "relay/%s is %.40q, want on, off or overpower", n, s)
	case "light", "color", "white":
		on, ok := parseOnOff(s)
		if !ok {
			return Reject(ReasonInvalidPayload, "%s/%s is %.40q, want on or off", kind, n, s)
		}
		return setMetric(r, prefix+"state", on)
	case "roller":
		switch s {
		case "open", "close", "stop":
			return setAttr(r, prefix+"state", s)
		}
		return Reject(ReasonInvalidPayload, "roller/%s is %.40q, want open, close or stop", n, s)
	case "input":
		return shellyGen1Bool(r, "input:"+n+".state", p)
	case "longpush":
		return shellyGen1Bool(r, "input:"+n+".longpush", p)
	case "input_event":
		return shellyGen1JSON(r, p, func(r *Reading, obj map[string]any) error {
			found, err := shellyGen1InputEvent(r, "input:"+n+".", obj)
			if err == nil && found == 0 && obj["event"] == nil {
				return Reject(ReasonInvalidPayload, "input_event without event or event_cnt")
			}
			return err
		})
	case "ext_temperature":
		return shellyGen1Number(r, shellyInstance(kind, n)+"temperature", p, 1)
	case "ext_humidity":
		return shellyGen1Number(r, shellyInstance(kind, n)+"humidity", p, 1)
	case "ext_switch":
		return shellyGen1Bool(r, "ext_switch:"+n+".state", p)
	case "adc":
		return shellyGen1Number(r, "adc:"+n+".voltage", p, 1)
	}
	return fmt.Errorf("%w: shelly gen1 %.20s/%s", ErrIgnored, kind, n)
}

// shellyGen1InputEvent maps {"event":"S","event_cnt":2}: S, L, SS, SSS, SL,
// LS are short/long push sequences; "" means none yet. n counts the fields
// found.
func shellyGen1InputEvent(r *Reading, prefix string, obj map[string]any) (n int, err error) {
	if obj["event_cnt"] != nil {
		n++
		if err := flatten(r, prefix+"event_cnt", obj["event_cnt"]); err != nil {
			return n, err
		}
	}
	if ev, ok := obj["event"].(string); ok && ev != "" {
		n++
		return n, setAttr(r, prefix+"event", ev)
	}
	return n, nil
}

// shellyGen1Measure decodes <kind>/<n>/<quantity>.
func shellyGen1Measure(r *Reading, kind, n, q string, p []byte) error {
	prefix := shellyInstance(kind, n)
	switch kind {
	case "relay", "roller", "light", "color", "white", "meter":
		switch q {
		case "power":
			return shellyGen1Number(r, prefix+"power", p, 1)
		case "energy":
			return shellyGen1Number(r, prefix+"energy", p, 1.0/60000) // watt-minutes
		case "pos":
			return shellyGen1Number(r, prefix+"position", p, 1)
		case "status":
			return shellyGen1JSON(r, p, func(r *Reading, obj map[string]any) error {
				return shellyGen1Object(r, prefix, obj)
			})
		}
		return shellyGen1Value(r, prefix+SnakeCase(q), p)
	case "emeter":
		switch q {
		case "total":
			return shellyGen1Number(r, prefix+"energy", p, 1.0/1000) // Wh
		case "total_returned":
			return shellyGen1Number(r, prefix+"energy_returned", p, 1.0/1000)
		case "energy":
			return shellyGen1Number(r, prefix+"energy_counter", p, 1.0/60000) // watt-minutes
		case "returned_energy":
			return shellyGen1Number(r, prefix+"returned_energy_counter", p, 1.0/60000)
		}
		return shellyGen1Value(r, prefix+SnakeCase(q), p)
	}
	return fmt.Errorf("%w: shelly gen1 %.20s/%s/%.20s", ErrIgnored, kind, n, q)
}

// shellyGen1Sensor decodes sensor/<x> of battery devices (H&T, Flood,
// Door/Window, Smoke, Gas). Temperatures are taken as °C, the default
// unit; a device configured for °F publishes °F on the same topic and says
// so nowhere in the message.
func shellyGen1Sensor(r *Reading, q string, p []byte) error {
	s := string(p)
	switch q {
	case "temperature", "humidity", "battery":
		return shellyGen1Number(r, q, p, 1)
	case "lux":
		return shellyGen1Number(r, "illuminance", p, 1)
	case "flood":
		return shellyGen1Bool(r, "water_leak", p)
	case "smoke":
		return shellyGen1Bool(r, "smoke", p)
	case "vibration":
		return shellyGen1Bool(r, "vibration", p)
	case "motion":
		return shellyGen1Bool(r, "occupancy", p)
	case "ext_power":
		return shellyGen1Bool(r, "external_power", p)
	case "state":
		switch s {
		case "open", "close":
			return setMetric(r, "contact", s == "close") // contact: true = closed
		}
		return Reject(ReasonInvalidPayload, "sensor/state is %.40q, want open or close", s)
	case "act_reasons":
		return fmt.Errorf("%w: shelly gen1 wake-up reasons", ErrIgnored)
	}
	return shellyGen1Value(r, SnakeCase(q), p)
}

// shellyStatusObject decodes <id>/status: a Gen2 Shelly.GetStatus reply
// has the sys component, which every Gen2 and Gen3 device reports; a Gen1
// Motion's status has none.
func shellyStatusObject(r *Reading, obj map[string]any) error {
	sys, ok := obj["sys"].(map[string]any)
	if !ok {
		return shellyGen1Status(r, obj)
	}
	shellyTS(r, sys["unixtime"])
	return shellyComponents(r, obj)
}

// shellyGen1Status maps the Motion's status JSON.
func shellyGen1Status(r *Reading, obj map[string]any) error {
	shellyTS(r, obj["timestamp"])
	for _, mb := range sortedMembers(obj) {
		name := SnakeCase(mb.key)
		switch mb.key {
		case "timestamp":
			continue
		case "motion":
			name = "occupancy"
		case "lux":
			name = "illuminance"
		case "bat":
			name = "battery"
		}
		if err := shellyOptional(r, name, mb.val); err != nil {
			return err
		}
	}
	return nil
}

// shellyGen1Object maps a light status or one element of info's lists.
func shellyGen1Object(r *Reading, prefix string, obj map[string]any) error {
	for _, mb := range sortedMembers(obj) {
		name := prefix + SnakeCase(mb.key)
		v := mb.val
		switch mb.key {
		case "ison":
			name = prefix + "state"
		case "current_pos":
			name = prefix + "position"
		case "reactive":
			name = prefix + "reactive_power"
		case "is_valid", "timestamp", "counters":
			continue
		}
		if err := shellyOptional(r, name, v); err != nil {
			return err
		}
	}
	return nil
}

// shellyGen1List maps info's relays, meters, emeters, rollers, lights and
// inputs: element i is instance i of kind.
func shellyGen1List(r *Reading, key string, v any) error {
	list, _ := v.([]any)
	kind := map[string]string{"relays": "relay", "meters": "relay", "emeters": "emeter",
		"rollers": "roller", "lights": "light", "inputs": "input"}[key]
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			continue
		}
		n := fmt.Sprint(i)
		prefix := shellyInstance(kind, n)
		if kind == "input" {
			prefix = "input:" + n + "."
		}
		for _, k := range []string{"total", "total_returned", "input"} {
			tv, ok := obj[k].(json.Number)
			if !ok {
				continue
			}
			f, err := parseNumber(tv)
			if err != nil {
				return err
			}
			delete(obj, k)
			switch {
			case k == "input":
				err = setMetric(r, prefix+"state", f != 0)
			case kind == "relay": // meters: watt-minutes
				err = setMetric(r, prefix+"energy", shellyWattMinutes(f))
			case k == "total": // emeters: Wh
				err = setMetric(r, prefix+"energy", roundConv(f/1000))
			default:
				err = setMetric(r, prefix+"energy_returned", roundConv(f/1000))
			}
			if err != nil {
				return err
			}
		}
		if kind == "input" {
			if _, err := shellyGen1InputEvent(r, prefix, obj); err != nil {
				return err
			}
			continue
		}
		if ov, ok := obj["overpower"]; ok && key == "meters" {
			// A meter's overpower is the threshold in W; the relay's is
			// the flag (relay/<n>/overpower_value and relay/<n>).
			delete(obj, "overpower")
			obj["overpower_value"] = ov
		}
		if err := shellyGen1Object(r, prefix, obj); err != nil {
			return err
		}
	}
	return nil
}

// shellyGen1Info maps shellies/<id>/info, the device's /status
// (https://shelly-api-docs.shelly.cloud/gen1/#status).
func shellyGen1Info(r *Reading, obj map[string]any) error {
	shellyTS(r, obj["unixtime"])
	keys := slices.Sorted(maps.Keys(obj))
	for _, k := range keys {
		v := obj[k]
		var err error
		switch k {
		case "unixtime", "time", "serial", "act_reasons", "ext_sensors":
		case "relays", "meters", "emeters", "rollers", "lights", "inputs":
			err = shellyGen1List(r, k, v)
		case "wifi_sta":
			if w, ok := v.(map[string]any); ok {
				err = shellyNet(r, "wifi", w)
			}
		case "temperature":
			err = shellyOptional(r, "device_temperature", v)
		case "tmp":
			// H&T and Flood: {value, units, tC, tF, is_valid} is the room;
			// relays repeat their own "temperature" here without "value".
			if t, ok := v.(map[string]any); ok && t["value"] != nil {
				err = shellyOptional(r, "temperature", t["tC"])
			}
		case "hum":
			if h, ok := v.(map[string]any); ok {
				err = shellyOptional(r, "humidity", h["value"])
			}
		case "bat":
			if b, ok := v.(map[string]any); ok {
				if err = shellyOptional(r, "battery", b["value"]); err == nil {
					err = shellyOptional(r, "voltage", b["voltage"])
				}
			}
		case "lux":
			if l, ok := v.(map[string]any); ok {
				if err = shellyOptional(r, "illuminance", l["value"]); err == nil {
					err = shellyOptional(r, "illumination", l["illumination"])
				}
			}
		case "flood":
			err = shellyOptional(r, "water_leak", v)
		case "sensor":
			if s, ok := v.(map[string]any); ok {
				if st, ok := s["state"].(string); ok && (st == "open" || st == "close") {
					err = setMetric(r, "contact", st == "close")
				}
			}
		case "accel":
			if a, ok := v.(map[string]any); ok {
				if err = shellyOptional(r, "tilt", a["tilt"]); err == nil {
					err = shellyOptional(r, "vibration", shellyFlag(a["vibration"]))
				}
			}
		case "ext_temperature", "ext_humidity":
			err = shellyGen1Ext(r, k, v)
		default:
			err = shellyOptional(r, SnakeCase(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shellyFlag turns Gen1's 0/1 flags into booleans; -1 (unknown) is absent.
func shellyFlag(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	switch n {
	case "0":
		return false
	case "1":
		return true
	}
	return nil
}

// shellyGen1Ext maps info's add-on sensors {"0":{"hwID":…,"tC":21.3}}.
func shellyGen1Ext(r *Reading, key string, v any) error {
	probes, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	name := "temperature"
	field := "tC"
	if key == "ext_humidity" {
		name, field = "humidity", "hum"
	}
	for _, mb := range sortedMembers(probes) {
		p, ok := mb.val.(map[string]any)
		if !ok || !shellyIndex(mb.key) {
			continue
		}
		if err := shellyOptional(r, shellyInstance(key, mb.key)+name, p[field]); err != nil {
			return err
		}
	}
	return nil
}
