package devices

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Zigbee2MQTT decodes Zigbee2MQTT's MQTT API
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html):
//
//	<base>/<friendly_name>                device or group state, a JSON object
//	<base>/<friendly_name>/availability   "online"/"offline" (legacy) or {"state":"online"}
//	<base>/<friendly_name>/set[/<attr>]   commands to the device: ignored
//	<base>/<friendly_name>/get[/<attr>]   state requests: ignored
//	<base>/bridge/state                   the coordinator's availability:
//	                                      {"state":"online"} or legacy online/offline
//	<base>/bridge/...                     bridge info, logs, requests: ignored
//
// The coordinator (Zigbee2MQTT itself and its adapter) is a device of its
// own, with the id "bridge" (Z2MCoordinator; no friendly name can be
// "bridge", whose topics are the bridge API). It implements Coordinator:
// while it is offline the bridge shows every other device of the source
// stale, until it is online again.
//
// Friendly names may contain '/', so the device id is everything between
// the base and an optional known suffix. Only the JSON output mode is
// supported (advanced.output: json, the default).
type Zigbee2MQTT struct{}

var (
	_ Handler     = Zigbee2MQTT{}
	_ Sampler     = Zigbee2MQTT{}
	_ Staler      = Zigbee2MQTT{}
	_ Coordinator = Zigbee2MQTT{}
	_ Handler     = (*Zigbee2MQTT)(nil)
)

// Z2MCoordinator is the device id of a Zigbee2MQTT source's coordinator,
// whose availability is <base>/bridge/state.
const Z2MCoordinator = "bridge"

// CoordinatorOnline implements Coordinator: the availability of the
// device "bridge", decoded from <base>/bridge/state.
func (z Zigbee2MQTT) CoordinatorOnline(r *Reading) (online, ok bool) {
	if r.Device != Z2MCoordinator || r.Family != z.Family() || r.Online == nil {
		return false, false
	}
	return *r.Online, true
}

// Family implements Handler.
func (Zigbee2MQTT) Family() string { return "zigbee2mqtt" }

// DefaultBase implements Handler: Zigbee2MQTT's default base_topic.
func (Zigbee2MQTT) DefaultBase() string { return "zigbee2mqtt" }

// Filters implements Handler. One filter covers device state, availability
// and the bridge topics (which Decode ignores deliberately). With an empty
// base, "#" is still correct: it does not match '$' topics [MQTT-4.7.2-1].
func (Zigbee2MQTT) Filters(base string) []string { return []string{JoinBase(base, "#")} }

// StaleAfter implements Staler: Zigbee2MQTT's own availability timeout for
// passive (battery) devices is 25 hours; mains devices are checked every 10
// minutes and reported offline through availability, so the passive bound
// is the one that needs a stale mark.
// https://www.zigbee2mqtt.io/guide/configuration/device-availability.html
func (Zigbee2MQTT) StaleAfter() time.Duration { return 25 * time.Hour }

// z2mNumeric lists canonical metrics Zigbee2MQTT names exactly as
// READINGS.md does. Old releases sent some as strings ("battery":"100.00"),
// which are read as numbers for these names only.
var z2mNumeric = map[string]bool{
	"temperature": true, "humidity": true, "pressure": true, "battery": true,
	"voltage": true, "current": true, "power": true, "energy": true,
	"illuminance": true, "linkquality": true, "co2": true, "pm25": true,
	"pm10": true, "voc": true,
}

// Decode implements Handler.
func (z Zigbee2MQTT) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok || rest == "" {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	if rest == "bridge/state" {
		// https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html#zigbee2mqtt-bridge-state:
		// retained, {"state":"online"|"offline"}, or plain
		// online/offline with advanced.legacy_availability_payload
		// (the 1.x default); offline is Zigbee2MQTT's MQTT will.
		return z.availability(Z2MCoordinator, m)
	}
	if rest == "bridge" || strings.HasPrefix(rest, "bridge/") {
		return nil, fmt.Errorf("%w: zigbee2mqtt bridge topic", ErrIgnored)
	}
	device, suffix := z2mSplit(rest)
	if device == "" {
		return nil, Reject(ReasonInvalidTopic, "topic %q names no device", m.Topic)
	}
	switch suffix {
	case "set", "get":
		return nil, fmt.Errorf("%w: zigbee2mqtt %s command", ErrIgnored, suffix)
	case "availability":
		return z.availability(device, m)
	}
	if len(m.Payload) == 0 {
		// An empty retained message clears the retained state
		// [MQTT-3.3.1-10]; Zigbee2MQTT does this when a device is removed.
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored)
	}
	obj, err := decodeObject(m.Payload)
	if err != nil {
		return nil, err
	}
	r := newReading(z.Family(), device, m)
	// Sized for the payload's numbers and booleans, the usual metrics:
	// a sensor's half dozen fit the map's first group (one small
	// allocation) instead of setMetric's default room for sixteen.
	n := 0
	for _, mb := range obj {
		switch mb.val.(type) {
		case json.Number, bool:
			n++
		}
	}
	if n > 0 {
		r.Metrics = make(map[string]any, n)
	}
	if err := z2mState(&r, device, obj); err != nil {
		return nil, err
	}
	if len(r.Metrics) == 0 {
		r.Metrics = nil // as if setMetric had never run
	}
	return []Reading{r}, nil
}

// z2mSplit separates a known suffix from the friendly name.
func z2mSplit(rest string) (device, suffix string) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return rest, ""
	}
	last := rest[i+1:]
	switch last {
	case "availability", "set", "get":
		return rest[:i], last
	}
	// <name>/set/<attribute> and <name>/get/<attribute>.
	if j := strings.LastIndexByte(rest[:i], '/'); j >= 0 {
		if cmd := rest[j+1 : i]; cmd == "set" || cmd == "get" {
			return rest[:j], cmd
		}
	}
	return rest, ""
}

func (z Zigbee2MQTT) availability(device string, m Message) ([]Reading, error) {
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored)
	}
	state := string(m.Payload)
	if m.Payload[0] == '{' {
		// Since 1.34 (and always with legacy_availability_payload: false):
		// {"state":"online"}.
		obj, err := decodeObject(m.Payload)
		if err != nil {
			return nil, err
		}
		v, _ := lookup(obj, "state")
		state, _ = v.(string)
	}
	var online bool
	switch state {
	case "online":
		online = true
	case "offline":
	default:
		return nil, Reject(ReasonInvalidPayload, "availability is %.40q, want online or offline", state)
	}
	r := newReading(z.Family(), device, m)
	r.Online = &online
	return []Reading{r}, nil
}

// z2mState maps a state object. Names already match READINGS.md except:
//   - state "ON"/"OFF" → bool state; state_<endpoint> → <endpoint>.state;
//     other state strings ("OPEN", "LOCK") stay attrs;
//   - voltage: Zigbee2MQTT exposes battery voltage in mV and mains voltage
//     in V without saying which in the payload. Rule: a value ≥ 1000 is mV
//     (no Zigbee mains device reports ≥ 1000 V, and a battery below 1000 mV
//     is dead), and so is any voltage of a payload that has battery but no
//     power, current or energy (a battery device). Both become V;
//   - illuminance_lux (before 2.0) is illuminance in lx, and then the raw
//     illuminance beside it becomes illuminance_raw;
//   - last_seen (ISO 8601 or epoch ms) is the Reading's TS, not a metric;
//   - device (include_device_information) is checked against the topic and
//     kept as device.* attrs;
//   - nested objects (color, update) are flattened to color.x, update.state;
//     arrays and nulls are skipped.
func z2mState(r *Reading, device string, obj []member) error {
	_, hasLux := lookup(obj, "illuminance_lux")
	_, hasBattery := lookup(obj, "battery")
	batteryDevice := hasBattery
	for _, k := range []string{"power", "current", "energy"} {
		if _, ok := lookup(obj, k); ok {
			batteryDevice = false
		}
	}
	for _, mb := range obj {
		key, v := mb.key, mb.val
		if v == nil {
			continue
		}
		switch {
		case key == "last_seen":
			if t, ok := parseDeviceTime(v); ok {
				r.TS = t
			}
			continue
		case key == "device":
			if err := z2mDeviceInfo(r, device, v); err != nil {
				return err
			}
			continue
		case key == "state" || strings.HasPrefix(key, "state_"):
			if s, ok := v.(string); ok {
				if on, ok := parseOnOff(s); ok {
					name := "state"
					if key != "state" {
						name = SnakeCase(key[len("state_"):]) + ".state"
					}
					if err := setMetric(r, name, on); err != nil {
						return err
					}
					continue
				}
			}
		}
		name := SnakeCase(key)
		switch {
		case key == "illuminance_lux":
			name = "illuminance"
		case key == "illuminance" && hasLux:
			name = "illuminance_raw"
		}
		if s, ok := v.(string); ok && z2mNumeric[name] {
			_, isNum, err := numericString(s)
			if err != nil {
				return err
			}
			if isNum {
				v = json.Number(s)
			}
		}
		if n, ok := v.(json.Number); ok && name == "voltage" {
			f, err := parseNumber(n)
			if err != nil {
				return err
			}
			if f >= 1000 || batteryDevice {
				f = roundConv(f / 1000)
			}
			if err := setMetric(r, name, f); err != nil {
				return err
			}
			continue
		}
		if err := flatten(r, name, v); err != nil {
			return err
		}
	}
	return nil
}

// z2mDeviceInfo checks the device object that include_device_information
// adds. READINGS.md: an in-payload identity that disagrees with the topic
// is rejected. Without a friendly_name the friendly name is the IEEE address.
func z2mDeviceInfo(r *Reading, device string, v any) error {
	info, ok := v.(map[string]any)
	if !ok {
		return flatten(r, "device", v)
	}
	name, _ := info["friendlyName"].(string)
	ieee, _ := info["ieeeAddr"].(string)
	if name != "" && name != device && ieee != device {
		return Reject(ReasonIdentityMismatch, "payload names device %.64q, topic %.64q", name, device)
	}
	for k, val := range info {
		switch val := val.(type) {
		case string:
			if err := setAttr(r, "device."+SnakeCase(k), val); err != nil {
				return err
			}
		case json.Number:
			if err := setAttr(r, "device."+SnakeCase(k), string(val)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Availability implements Sampler with the current (non-legacy) payload.
func (Zigbee2MQTT) Availability(base, device string, online bool) (Message, bool) {
	state := "offline"
	if online {
		state = "online"
	}
	return Message{
		Topic:    JoinBase(base, device+"/availability"),
		Payload:  []byte(`{"state":"` + state + `"}`),
		Retained: true,
	}, true
}

// Sample implements Sampler. A device is, by a hash of its name, either an
// Aqara WSDCGQ11LM temperature/humidity/pressure sensor or a smart plug with
// metering, with the exposes of their zigbee2mqtt.io device pages.
func (Zigbee2MQTT) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	h := fnv.New32a()
	h.Write([]byte(device))
	var payload map[string]any
	lastSeen := now.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if h.Sum32()%2 == 0 {
		payload = map[string]any{
			"battery":     float64(60 + rnd.IntN(41)),
			"humidity":    round2(35 + rnd.Float64()*30),
			"linkquality": float64(40 + rnd.IntN(200)),
			"pressure":    round2(990 + rnd.Float64()*40),
			"temperature": round2(18 + rnd.Float64()*8),
			"voltage":     float64(2900 + rnd.IntN(200)), // mV, as the device page says
			"last_seen":   lastSeen,
		}
	} else {
		on := rnd.IntN(4) != 0
		power := 0.0
		if on {
			power = round2(5 + rnd.Float64()*1500)
		}
		voltage := round2(225 + rnd.Float64()*10)
		state := "OFF"
		if on {
			state = "ON"
		}
		hours := now.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Hours()
		payload = map[string]any{
			"state":               state,
			"power":               power,
			"voltage":             voltage,
			"current":             round2(power / voltage),
			"energy":              round2(math.Max(0, hours) * 0.05 * usageScale(device)),
			"linkquality":         float64(80 + rnd.IntN(175)),
			"power_outage_memory": "restore",
			"last_seen":           lastSeen,
		}
	}
	b, _ := json.Marshal(payload)
	return []Message{{Topic: JoinBase(base, device), Payload: b, ReceivedAt: now}}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

var _ Commander = Zigbee2MQTT{}

// Command implements Commander
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html,
// zigbee2mqtt/FRIENDLY_NAME/set and /get):
//
//	on, off, toggle   <base>/<device>/set  {"state":"ON"|"OFF"|"TOGGLE"}
//	set               <base>/<device>/set  args (a JSON object, e.g. {"brightness":128})
//	get               <base>/<device>/get  args (a JSON object, e.g. {"state":""})
//
// The device may not address the bridge API or another topic suffix, and
// the attributes of set and get come from Z2MCommandKeys: a device's
// /set also takes converter keys that write any Zigbee attribute
// ("write", "read"), change its configuration ("calibration",
// "interlock", …) or trigger maintenance, none of which a dashboard user
// should reach.
func (z Zigbee2MQTT) Command(base, device, name string, args []byte) (Message, error) {
	family := z.Family()
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	if device == "bridge" || strings.HasPrefix(device, "bridge/") {
		return Message{}, invalidCommand(family, "device %q is the bridge API", device)
	}
	if d, suffix := z2mSplit(device); suffix != "" || d != device {
		return Message{}, invalidCommand(family, "device %q ends in a command or availability suffix", device)
	}
	v, err := commandArgs(family, args)
	if err != nil {
		return Message{}, err
	}
	if state, ok := onOffCommand(name); ok {
		if v != nil {
			return Message{}, invalidCommand(family, "%s takes no args", name)
		}
		return Message{Topic: JoinBase(base, device+"/set"), Payload: []byte(`{"state":"` + state + `"}`)}, nil
	}
	switch name {
	case "set", "get":
		obj, ok := v.(map[string]any)
		if !ok || len(obj) == 0 {
			return Message{}, invalidCommand(family, "%s needs a non-empty JSON object of attributes", name)
		}
		for k := range obj {
			if !z2mCommandKey(k) {
				return Message{}, invalidCommand(family, "%s: attribute %.40q is not one a dashboard may %s (allowed: %s, each also with an endpoint suffix such as _l1)",
					name, k, name, strings.Join(Z2MCommandKeys(), ", "))
			}
		}
		return Message{Topic: JoinBase(base, device+"/"+name), Payload: compactJSON(obj)}, nil
	}
	return Message{}, invalidCommand(family, "unknown command %q (want on, off, toggle, set, get)", name)
}

// z2mCommandKeys are the attributes a dashboard may set or get: the
// settable properties of Zigbee2MQTT's generic exposes (light, switch,
// cover, lock, climate, fan;
// https://www.zigbee2mqtt.io/guide/usage/exposes.html, access bit SET or
// GET) and the light options of its MQTT API
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html:
// transition, brightness_move/_step, color_temp_move/_step). Device
// specific keys, Zigbee2MQTT's raw "read"/"write" converters and
// configuration options are not in it.
var z2mCommandKeys = map[string]bool{
	// light and switch
	"state": true, "brightness": true, "color_temp": true, "color": true,
	"hue": true, "saturation": true, "transition": true, "effect": true,
	"brightness_move": true, "brightness_step": true,
	"color_temp_move": true, "color_temp_step": true,
	"hue_move": true, "hue_step": true, "saturation_move": true, "saturation_step": true,
	// cover
	"position": true, "tilt": true,
	// climate
	"occupied_heating_setpoint": true, "occupied_cooling_setpoint": true,
	"unoccupied_heating_setpoint": true, "unoccupied_cooling_setpoint": true,
	"current_heating_setpoint": true, "system_mode": true, "preset": true,
	// fan
	"fan_mode": true, "fan_state": true,
}

// Z2MCommandKeys returns the attributes Zigbee2MQTT set and get accept,
// sorted.
func Z2MCommandKeys() []string {
	keys := make([]string, 0, len(z2mCommandKeys))
	for k := range z2mCommandKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// z2mCommandKey reports whether k is in z2mCommandKeys, alone or with an
// endpoint suffix ("state_l2", "brightness_left": Zigbee2MQTT names a
// multi-endpoint device's properties <property>_<endpoint>).
func z2mCommandKey(k string) bool {
	if z2mCommandKeys[k] {
		return true
	}
	i := strings.LastIndexByte(k, '_')
	if i <= 0 || !z2mCommandKeys[k[:i]] {
		return false
	}
	return z2mEndpoint(k[i+1:])
}

// z2mEndpoint reports whether s is an endpoint name: l1…l99, a number, or
// one of the names Zigbee2MQTT's multi-gang devices use.
func z2mEndpoint(s string) bool {
	switch s {
	case "left", "right", "center", "top", "bottom", "middle":
		return true
	}
	s = strings.TrimPrefix(s, "l")
	if s == "" || len(s) > 2 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
