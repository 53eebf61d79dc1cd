package devices

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Shelly decodes Shelly devices over MQTT, both generations, below a base
// topic (default "shellies"):
//
//	Gen1 (https://shelly-api-docs.shelly.cloud/gen1/#mqtt-support), device id
//	= the MQTT id, "<model>-<id>" by default; one topic level:
//	  <base>/<id>/online            "true" / "false" (retained last will)
//	  <base>/<id>/relay/<n>[/power|/energy], roller/<n>[/pos|/power|/energy],
//	  light|color|white/<n>[/status|/power|/energy], emeter/<n>/<x>,
//	  sensor/<x>, input/<n>, input_event/<n>, longpush/<n>, ext_temperature/<n>,
//	  ext_humidity/<n>, temperature, overtemperature, voltage, status, info
//	  (shelly_gen1.go); a custom MQTT id may contain '/' ("kitchen/plug"):
//	  the subtopic is then found from its known shapes
//	<prefix>/status is a Gen1 Motion's status, or a Gen2 device's full
//	Shelly.GetStatus reply (every component, as NotifyFullStatus carries
//	them), which scripts and integrations publish there
//	Gen2/Gen3 (https://shelly-api-docs.shelly.cloud/gen2/General/RPCChannels#mqtt),
//	device id = the topic prefix below base, which may span levels:
//	  <prefix>/online               "true" / "false" (retained last will)
//	  <prefix>/events/rpc           NotifyStatus, NotifyFullStatus, NotifyEvent
//	  <prefix>/status/<component>   one component's status (status_ntf)
//
// Command topics (<id>/rpc, …/command, <id>/command), announce and every
// other topic are ignored. A Gen2 notification whose src is not the topic's
// device, and whose dst is not the topic's own "<prefix>/events" (the form a
// custom topic_prefix produces), is rejected as identity_mismatch.
type Shelly struct{}

var (
	_ Handler   = Shelly{}
	_ Sampler   = Shelly{}
	_ Staler    = Shelly{}
	_ Commander = Shelly{}
	_ Handler   = (*Shelly)(nil)
)

// Family implements Handler.
func (Shelly) Family() string { return "shelly" }

// DefaultBase implements Handler: Gen1's fixed "shellies" prefix, which Gen2
// devices share when their topic_prefix is set to "shellies/<id>". A Gen2
// device at its default prefix (its bare id) is listed in a source's
// devices (Mount.Devices: "<id>/#"), or needs base "" (or one source per
// device, base = that id).
func (Shelly) DefaultBase() string { return "shellies" }

// Filters implements Handler. Under a base, everything below it. With base
// "" the Gen2 default prefixes are first-level topics, so the filters name
// the Gen2 suffixes, plus "shellies/#" for Gen1; such a source overlaps any
// other family's filter of the form "<x>/#" or "<x>/+/+" and is refused
// next to one (the router refuses overlapping sources).
func (Shelly) Filters(base string) []string {
	if base == "" {
		return []string{"shellies/#", "+/online", "+/events/rpc", "+/status/+", "+/status"}
	}
	return []string{JoinBase(base, "#")}
}

// RootDevice implements RootDevices: a Gen2/Gen3 device's default
// topic_prefix is its id, at the broker's root (a custom prefix may span
// levels). Below "shellies/" the Gen1 layout applies whatever the base, so
// such an id would not be the device: that is the default base's job.
func (Shelly) RootDevice(id string) error {
	if id == "shellies" || strings.HasPrefix(id, "shellies/") {
		return fmt.Errorf("devices under shellies/ are the default base's: use base \"shellies\" (the default) without devices")
	}
	return nil
}

// StaleAfter implements Staler. Shelly devices publish on change (Gen2, and
// Gen1 battery sensors when they wake) rather than on a clock, and mains
// devices have an "online" last will for real outages. 25 hours lets a
// battery sensor's daily wake-up and an idle relay's periodic reports
// (Gen1: every mqtt_update_period, 30 s; Gen2 meters: aenergy each minute)
// keep a device fresh without false alarms overnight.
func (Shelly) StaleAfter() time.Duration { return 25 * time.Hour }

// shellyKind is what a topic carries.
type shellyKind int

const (
	shellyIgnored shellyKind = iota
	shellyOnline
	shellyRPCKind
	shellyStatus
	shellyGen1
)

// shellyTopic splits a topic into device, kind and the rest: the component
// of a Gen2 status topic, or the Gen1 subtopic.
func shellyTopic(base, topic string) (device string, kind shellyKind, sub string, err error) {
	if base == "" && strings.HasPrefix(topic, "shellies/") {
		base = "shellies" // Gen1 (and shellies/<id> Gen2 prefixes) next to bare Gen2 ids
	}
	rest, ok := TrimBase(base, topic)
	if !ok {
		return "", 0, "", Reject(ReasonInvalidTopic, "topic %q is not below base %q", topic, base)
	}
	// Gen2 suffixes first: their prefix may span levels. "rest" without a
	// device part means the base is the device's own prefix.
	prefix, bare := "", false
	switch {
	case rest == "online" || strings.HasSuffix(rest, "/online"):
		prefix, bare, kind = strings.TrimSuffix(rest, "/online"), rest == "online", shellyOnline
	case rest == "events/rpc" || strings.HasSuffix(rest, "/events/rpc"):
		prefix, bare, kind = strings.TrimSuffix(rest, "/events/rpc"), rest == "events/rpc", shellyRPCKind
	case rest == "rpc" || strings.HasSuffix(rest, "/rpc"):
		return "", shellyIgnored, "", nil // an RPC request to a Gen2 device, ours included
	default:
		if i := strings.LastIndex(rest, "status/"); i >= 0 && (i == 0 || rest[i-1] == '/') && shellyComponentKey(rest[i+len("status/"):]) {
			prefix, bare, kind, sub = strings.TrimSuffix(rest[:i], "/"), i == 0, shellyStatus, rest[i+len("status/"):]
			break
		}
		if rest == "status" && base != "shellies" {
			// The base is a Gen2 device's prefix, and this its full status.
			prefix, bare, kind = "", true, shellyGen1
			sub = rest
			break
		}
		dev, gsub, more := shellyGen1Split(rest)
		if !more {
			return "", shellyIgnored, "", nil // shellies/announce, shellies/command
		}
		if dev == "" || gsub == "" {
			return "", 0, "", Reject(ReasonInvalidTopic, "topic %q is not <base>/<id>/<subtopic>", topic)
		}
		return dev, shellyGen1, gsub, nil
	}
	if bare {
		// The base is the device's prefix: one source per Gen2 device.
		prefix = base[strings.LastIndexByte(base, '/')+1:]
	}
	if prefix == "" {
		return "", 0, "", Reject(ReasonInvalidTopic, "topic %q names no device", topic)
	}
	// A prefix with empty levels ("a//b") is refused by CheckDeviceID.
	return prefix, kind, sub, nil
}

// shellyComponentKey reports whether s is a Gen2 component key: "sys",
// "switch:0", "em1data:2".
func shellyComponentKey(s string) bool {
	typ, idx, _ := strings.Cut(s, ":")
	if typ == "" || typ[0] < 'a' || typ[0] > 'z' {
		return false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
			return false
		}
	}
	if strings.Contains(s, ":") {
		if idx == "" || len(idx) > 4 {
			return false
		}
		for i := 0; i < len(idx); i++ {
			if idx[i] < '0' || idx[i] > '9' {
				return false
			}
		}
	}
	return true
}

// Decode implements Handler.
func (s Shelly) Decode(base string, m Message) ([]Reading, error) {
	device, kind, sub, err := shellyTopic(base, m.Topic)
	if err != nil {
		return nil, err
	}
	if kind == shellyIgnored {
		return nil, fmt.Errorf("%w: shelly command or announcement", ErrIgnored)
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained message [MQTT-3.3.1-10]
	}
	if err := CheckPayload(m.Payload); err != nil {
		return nil, err
	}
	r := newReading(s.Family(), device, m)
	switch kind {
	case shellyOnline:
		err = shellyOnlineText(&r, m.Payload)
	case shellyRPCKind:
		err = shellyNotification(&r, m)
	case shellyStatus:
		err = shellyStatusTopic(&r, sub, m.Payload)
	case shellyGen1:
		err = shellyGen1Topic(&r, sub, m.Payload)
	}
	if err != nil {
		return nil, err
	}
	return []Reading{r}, nil
}

func shellyOnlineText(r *Reading, p []byte) error {
	var online bool
	switch string(p) {
	case "true":
		online = true
	case "false":
	default:
		return Reject(ReasonInvalidPayload, "online is %.40q, want true or false", string(p))
	}
	r.Online = &online
	return nil
}

// shellyNotification decodes a Gen2 RPC notification frame.
func shellyNotification(r *Reading, m Message) error {
	obj, err := decodeObject(m.Payload)
	if err != nil {
		return err
	}
	if err := shellyIdentity(r, m.Topic, obj); err != nil {
		return err
	}
	method, _ := lookup(obj, "method")
	pv, _ := lookup(obj, "params")
	params, isObj := pv.(map[string]any)
	switch method {
	case "NotifyStatus", "NotifyFullStatus":
		if !isObj {
			return Reject(ReasonInvalidPayload, "%s without a params object", method)
		}
		shellyTS(r, params["ts"])
		return shellyComponents(r, params)
	case "NotifyEvent":
		if !isObj {
			return Reject(ReasonInvalidPayload, "NotifyEvent without a params object")
		}
		return shellyEvents(r, params)
	}
	// Responses and requests seen on the topic are not device status.
	return fmt.Errorf("%w: shelly rpc frame %.40v", ErrIgnored, method)
}

// shellyIdentity checks the frame's src against the topic: the default
// topic prefix is the device id (src); a custom prefix shows in dst as
// "<prefix>/events", which must then be this topic's own prefix.
func shellyIdentity(r *Reading, topic string, obj []member) error {
	v, ok := lookup(obj, "src")
	if !ok {
		return nil
	}
	src, isStr := v.(string)
	if !isStr {
		return Reject(ReasonInvalidPayload, "src is a JSON %s, want a string", jsonKind(v))
	}
	if src == r.Device {
		return nil
	}
	if dst, _ := lookup(obj, "dst"); dst == strings.TrimSuffix(topic, "/rpc") {
		return setAttr(r, "shelly_id", src)
	}
	return Reject(ReasonIdentityMismatch, "src %.80q is not device %.80q", src, r.Device)
}

// shellyTS sets TS from a Gen2 "ts" or Gen1 "unixtime" (Unix seconds,
// with centiseconds for Gen2).
func shellyTS(r *Reading, v any) {
	if t, ok := shellyTime(v); ok {
		r.TS = t
	}
}

// shellyTime reads Unix seconds exactly: 1631186545.04 is .04 s, not the
// .039999999 s that a float64 round trip gives. Anything that is not a
// plain decimal falls back to parseDeviceTime's rules.
func shellyTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return parseDeviceTime(v)
	}
	sec, frac, _ := strings.Cut(string(n), ".")
	if len(sec) == 0 || len(sec) > 11 || len(frac) > 9 {
		return parseDeviceTime(v)
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return parseDeviceTime(v)
	}
	var ns int64
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return parseDeviceTime(v)
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	t := time.Unix(s, ns).UTC()
	if t.Before(minDeviceTime) || t.After(maxDeviceTime) {
		return time.Time{}, false
	}
	return t, true
}

// shellyComponents maps every component of a status object, in a fixed
// order so that the first error is always the same.
func shellyComponents(r *Reading, params map[string]any) error {
	keys := slices.Sorted(maps.Keys(params))
	for _, k := range keys {
		if k == "ts" {
			continue
		}
		obj, ok := params[k].(map[string]any)
		if !ok {
			continue // null: the component disappeared; not a status
		}
		if err := shellyComponent(r, k, obj); err != nil {
			return err
		}
	}
	return nil
}

// shellyStatusTopic decodes <prefix>/status/<component>.
func shellyStatusTopic(r *Reading, component string, p []byte) error {
	v, err := decodeValue(p)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Reject(ReasonInvalidPayload, "status of %s is a JSON %s, want an object", component, jsonKind(v))
	}
	if component == "sys" {
		shellyTS(r, obj["unixtime"])
	}
	return shellyComponent(r, component, obj)
}

// shellyPrimary are the component types whose instance 0 uses plain
// READINGS.md names (switch:0 → power); instance n ≥ 1 is "<type>:<n>.<name>"
// (switch:1.power). Other types always carry their key (input:0.state).
var shellyPrimary = map[string]bool{
	"switch": true, "cover": true, "light": true, "rgb": true, "rgbw": true, "cct": true,
	"pm1": true, "em": true, "em1": true, "emdata": true, "em1data": true,
	"temperature": true, "humidity": true, "devicepower": true, "illuminance": true,
	"voltmeter": true, "smoke": true, "flood": true,
}

// shellyWh marks Gen2 energy fields, reported in Wh, with their canonical
// kWh names.
var shellyWh = map[string]string{
	"aenergy": "energy", "ret_aenergy": "energy_returned", // switch, pm1, cover, light
	"total_act": "energy", "total_act_ret": "energy_returned", // emdata
	"total_act_energy": "energy", "total_act_ret_energy": "energy_returned", // em1data
	"a_total_act_energy": "a_energy", "b_total_act_energy": "b_energy", "c_total_act_energy": "c_energy",
	"a_total_act_ret_energy": "a_energy_returned", "b_total_act_ret_energy": "b_energy_returned",
	"c_total_act_ret_energy": "c_energy_returned",
}

// shellyComponent maps one Gen2 component status
// (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Introduction).
func shellyComponent(r *Reading, key string, obj map[string]any) error {
	typ, idx, _ := strings.Cut(key, ":")
	prefix := key + "."
	if shellyPrimary[typ] && (idx == "" || idx == "0") {
		prefix = ""
	}
	switch typ {
	case "sys":
		return shellySys(r, obj)
	case "wifi", "eth":
		return shellyNet(r, typ, obj)
	}
	fields := make([]string, 0, len(obj))
	for f := range obj {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if err := shellyField(r, typ, prefix, f, obj[f]); err != nil {
			return err
		}
	}
	return nil
}

func shellyField(r *Reading, typ, prefix, f string, v any) error {
	if v == nil || f == "id" {
		return nil
	}
	if !shellyPrimary[typ] {
		return flatten(r, prefix+SnakeCase(f), v)
	}
	if name, ok := shellyWh[f]; ok {
		if o, isObj := v.(map[string]any); isObj {
			v = o["total"] // aenergy: {total, by_minute, minute_ts}
		}
		if n, isNum := v.(json.Number); isNum {
			wh, err := parseNumber(n)
			if err != nil {
				return err
			}
			return setMetric(r, prefix+name, roundConv(wh/1000))
		}
		return nil
	}
	name := SnakeCase(f)
	switch f {
	case "output":
		name = "state"
	case "apower", "act_power", "total_act_power":
		name = "power"
	case "total_current":
		name = "current"
	case "current_pos":
		name = "position"
	case "target_pos":
		name = "target_position"
	case "rh":
		name = "humidity"
	case "lux":
		name = "illuminance"
	case "tF":
		return nil // tC is the canonical one
	case "tC":
		name = "temperature"
	case "alarm":
		name = typ // smoke, flood
		if typ == "flood" {
			name = "water_leak"
		}
	case "temperature":
		// An actuator's own temperature is not the room's.
		if o, ok := v.(map[string]any); ok {
			v = o["tC"]
		}
		name = "device_temperature"
	case "battery":
		if o, ok := v.(map[string]any); ok { // devicepower: {V, percent}
			if err := shellyOptional(r, prefix+"voltage", o["V"]); err != nil {
				return err
			}
			v = o["percent"]
		}
	case "external":
		if o, ok := v.(map[string]any); ok { // devicepower: {present}
			v, name = o["present"], "external_power"
		}
	case "errors":
		if list, ok := v.([]any); ok {
			var errs []string
			for _, e := range list {
				if s, ok := e.(string); ok {
					errs = append(errs, s)
				}
			}
			return setAttr(r, prefix+"errors", strings.Join(errs, ","))
		}
	}
	return shellyOptional(r, prefix+name, v)
}

// shellyOptional flattens v unless it is absent or null.
func shellyOptional(r *Reading, name string, v any) error {
	if v == nil {
		return nil
	}
	return flatten(r, name, v)
}

// shellySys maps the sys component: uptime, the MAC as an attr, the rest
// under "sys." (ram_free, fs_free, restart_required, available_updates…).
func shellySys(r *Reading, obj map[string]any) error {
	for _, mb := range sortedMembers(obj) {
		var err error
		switch mb.key {
		case "uptime":
			err = shellyOptional(r, "uptime", mb.val)
		case "mac":
			err = shellyOptional(r, "mac", mb.val)
		case "unixtime", "time":
			// The device clock: used as TS by status/sys, not a metric.
		default:
			err = shellyOptional(r, "sys."+SnakeCase(mb.key), mb.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shellyNet maps wifi and eth: rssi (dBm), the address as attr ip, the rest
// under "wifi." / "eth.".
func shellyNet(r *Reading, typ string, obj map[string]any) error {
	for _, mb := range sortedMembers(obj) {
		var err error
		switch mb.key {
		case "rssi":
			err = shellyOptional(r, "rssi", mb.val)
		case "sta_ip", "ip":
			err = shellyOptional(r, "ip", mb.val)
		default:
			err = shellyOptional(r, typ+"."+SnakeCase(mb.key), mb.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// shellyEvents maps NotifyEvent: each event's name becomes the attr
// "<component>.event" (input:0.event = "single_push"), and TS the latest
// event time. A frame with no such event is not status.
func shellyEvents(r *Reading, params map[string]any) error {
	shellyTS(r, params["ts"])
	list, _ := params["events"].([]any)
	n := 0
	for _, e := range list {
		ev, ok := e.(map[string]any)
		if !ok {
			continue
		}
		component, _ := ev["component"].(string)
		name, _ := ev["event"].(string)
		if !shellyComponentKey(component) || name == "" {
			continue
		}
		if err := setAttr(r, component+".event", name); err != nil {
			return err
		}
		n++
		if t, ok := shellyTime(ev["ts"]); ok && t.After(r.TS) {
			r.TS = t
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: shelly NotifyEvent without component events", ErrIgnored)
	}
	return nil
}

// shellyGen1Device reports whether the simulator sends device as a Gen1
// device: half the fleet, by a hash of the name, and never an id with '/'
// (a Gen1 MQTT id is one level unless set otherwise; ids with '/' are sent
// as Gen2 multi-level prefixes).
func shellyGen1Device(device string) bool {
	if strings.IndexByte(device, '/') >= 0 {
		return false
	}
	return shellyHash(device)%2 == 1
}

// shellyPrefix is the topic prefix of a device under base. With base "",
// Gen1 lives under "shellies", and so does a Gen2 prefix of several levels
// (the "+/…" filters of base "" reach only one-level prefixes).
func shellyPrefix(base, device string, gen1 bool) string {
	if base == "" && (gen1 || strings.IndexByte(device, '/') >= 0) {
		return "shellies/" + device
	}
	return JoinBase(base, device)
}

// Availability implements Sampler: the retained "online" last will, the
// same for both generations.
func (Shelly) Availability(base, device string, online bool) (Message, bool) {
	return Message{
		Topic:    shellyPrefix(base, device, shellyGen1Device(device)) + "/online",
		Payload:  []byte(strconv.FormatBool(online)),
		Retained: true,
	}, true
}

// Sample implements Sampler: a metering relay, Gen1 (Shelly 1PM topics) or
// Gen2 (Plus 1PM NotifyStatus frames), as the device sends them.
func (Shelly) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	gen1 := shellyGen1Device(device)
	prefix := shellyPrefix(base, device, gen1)
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	on := rnd.IntN(4) != 0
	power := 0.0
	if on {
		power = round1(5 + rnd.Float64()*1500)
	}
	voltage := round1(225 + rnd.Float64()*10)
	temp := round1(35 + rnd.Float64()*15)
	days := max(now.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Hours()/24, 0)
	wh := round3(days * 1200 * usageScale(device))
	if gen1 {
		state := "off"
		if on {
			state = "on"
		}
		return []Message{
			{Topic: prefix + "/relay/0", Payload: []byte(state), ReceivedAt: now},
			{Topic: prefix + "/relay/0/power", Payload: []byte(num(power)), ReceivedAt: now},
			{Topic: prefix + "/relay/0/energy", Payload: []byte(strconv.FormatInt(int64(wh*60), 10)), ReceivedAt: now},
			{Topic: prefix + "/temperature", Payload: []byte(num(temp)), ReceivedAt: now},
		}
	}
	ts := strconv.FormatFloat(float64(now.UnixMilli()/10)/100, 'f', 2, 64)
	id := device // the default prefix is the device id, the frame's src
	if strings.IndexByte(id, '/') >= 0 {
		// A custom multi-level prefix: src is the hardware id, and dst
		// names the prefix.
		id = "shellyplus1pm-" + strconv.FormatUint(uint64(shellyHash(device)), 16)
	}
	head := `{"src":` + strconv.Quote(id) + `,"dst":` + strconv.Quote(prefix+"/events") + `,"method":"NotifyStatus","params":{"ts":` + ts
	sw := head + `,"switch:0":{"id":0,"source":"button","output":` + strconv.FormatBool(on) +
		`,"apower":` + num(power) + `,"voltage":` + num(voltage) + `,"current":` + num(round3(power/voltage)) +
		`,"aenergy":{"total":` + num(wh) + `,"by_minute":[0,0,0],"minute_ts":` + strconv.FormatInt(now.Unix()/60*60, 10) +
		`},"temperature":{"tC":` + num(temp) + `,"tF":` + num(round1(temp*9/5+32)) + `}}}}`
	wifi := head + `,"wifi":{"rssi":` + strconv.Itoa(-40-rnd.IntN(45)) + `}}}`
	return []Message{
		{Topic: prefix + "/events/rpc", Payload: []byte(sw), ReceivedAt: now},
		{Topic: prefix + "/events/rpc", Payload: []byte(wifi), ReceivedAt: now},
	}
}

func shellyHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}
