package devices

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OwnTracks decodes the OwnTracks apps' MQTT mode
// (https://owntracks.org/booklet/tech/json/):
//
//	owntracks/<user>/<device>              _type location: decoded
//	                                       _type lwt: offline
//	                                       _type transition, beacon: attrs
//	                                       other _types: ignored
//	owntracks/<user>/<device>/event        _type transition: attrs with their time
//	owntracks/<user>/<device>/beacon       _type beacon (iOS ranging): attrs
//	owntracks/<user>/<device>/<subtopic>   cmd, info, waypoint(s), status,
//	                                       step, dump: ignored
//
// The device id is the publish topic below base, <user>/<device> with the
// apps' default pubTopicBase (owntracks/%u/%d). The in-payload "topic"
// (HTTP mode's copy of the publish topic) is never trusted: when present it
// must equal the real topic, else the message is rejected.
type OwnTracks struct{}

var (
	_ Handler = OwnTracks{}
	_ Sampler = OwnTracks{}
	_ Staler  = OwnTracks{}
	_ Handler = (*OwnTracks)(nil)
)

// Family implements Handler.
func (OwnTracks) Family() string { return "owntracks" }

// DefaultBase implements Handler: the apps' default topic prefix.
func (OwnTracks) DefaultBase() string { return "owntracks" }

// Filters implements Handler. '#' rather than +/+ so that custom
// pubTopicBase depths work and the monitor shows the ignored subtopics.
func (OwnTracks) Filters(base string) []string { return []string{JoinBase(base, "#")} }

// StaleAfter implements Staler. In the default significant-changes mode
// the apps publish only when the phone moves noticeably, or on the
// Android ping (every 15 minutes by default); a phone on a desk for an
// hour is normal, one silent for half a day is not.
func (OwnTracks) StaleAfter() time.Duration { return 12 * time.Hour }

// otSubtopics are the subtopics the booklet lists below a device's topic.
var otSubtopics = map[string]bool{
	"cmd": true, "event": true, "info": true, "waypoint": true, "waypoints": true,
	"status": true, "step": true, "steps": true, "beacon": true, "dump": true,
}

// otDevice returns the device a topic below base belongs to and whether the
// topic is a subtopic. <user>/<device> (two levels) is always a device
// topic, as the default layout says, even for a device named "event"; a
// deeper topic ending in a known subtopic is that subtopic; any other depth
// is a custom pubTopicBase.
func otDevice(rest string) (device string, sub bool) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 || strings.Count(rest, "/") < 2 || !otSubtopics[rest[i+1:]] {
		return rest, false
	}
	return rest[:i], true
}

// Decode implements Handler.
func (o OwnTracks) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	device, sub := otDevice(rest)
	for l := device; ; {
		level, next, more := cutLevel(l)
		if level == "" {
			return nil, Reject(ReasonInvalidTopic, "topic %q has an empty level", m.Topic)
		}
		if !more {
			break
		}
		l = next
	}
	subtopic := ""
	if sub {
		subtopic = m.Topic[strings.LastIndexByte(m.Topic, '/')+1:]
		if subtopic != "event" && subtopic != "beacon" {
			return nil, fmt.Errorf("%w: owntracks %s subtopic", ErrIgnored, subtopic)
		}
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained location [MQTT-3.3.1-10]
	}
	obj, err := decodeObject(m.Payload)
	if err != nil {
		return nil, err
	}
	if v, ok := lookup(obj, "topic"); ok {
		// The booklet: topic is only in HTTP payloads and holds the
		// original publish topic. Over MQTT the real topic is the identity.
		if s, _ := v.(string); s != m.Topic {
			return nil, Reject(ReasonIdentityMismatch, "payload topic %.100q, real topic %.100q", fmt.Sprint(v), m.Topic)
		}
	}
	tv, _ := lookup(obj, "_type")
	typ, ok := tv.(string)
	if !ok {
		return nil, Reject(ReasonInvalidPayload, "no _type string")
	}
	if sub && typ != otSubtopicType[subtopic] {
		return nil, fmt.Errorf("%w: owntracks _type %.40q on the %s subtopic", ErrIgnored, typ, subtopic)
	}
	r := newReading(o.Family(), device, m)
	switch typ {
	case "transition":
		if err := otTransition(&r, obj); err != nil {
			return nil, err
		}
	case "beacon":
		if err := otBeacon(&r, obj); err != nil {
			return nil, err
		}
	case "location":
		if err := otLocation(&r, obj); err != nil {
			return nil, err
		}
	case "lwt":
		// The broker publishes the app's last will when it loses the
		// connection. Its tst is when the app connected, not when the
		// connection was lost, so TS stays the receive time: using tst
		// would move the device back in time.
		offline := false
		r.Online = &offline
	default:
		// waypoint(s), card, cmd, configuration, status, steps,
		// request, and encrypted (the key is the apps' secret) are not
		// device status.
		return nil, fmt.Errorf("%w: owntracks _type %.40q", ErrIgnored, typ)
	}
	return []Reading{r}, nil
}

// otSubtopicType is the _type the apps publish on a decoded subtopic
// (https://owntracks.org/booklet/tech/json/ "Topics"): enter/leave
// transitions on …/event, iOS beacon ranging on …/beacon.
var otSubtopicType = map[string]string{"event": "transition", "beacon": "beacon"}

// otTransition maps a transition (entering or leaving a region or a BLE
// beacon's range) to attrs of the device, with the time it happened
// (tst, also the Reading's time): transition.event (enter, leave),
// transition.region (desc), transition.region_id (rid), transition.trigger
// (t: c circular region, b beacon, l location update) and
// transition.time (RFC 3339). The latest transition wins; the regions the
// device is in are the location's inregions.
func otTransition(r *Reading, obj []member) error {
	ev, _ := lookup(obj, "event")
	event, _ := ev.(string)
	if event != "enter" && event != "leave" {
		return Reject(ReasonInvalidPayload, "transition event %.40q, want enter or leave", fmt.Sprint(ev))
	}
	if err := otEventTime(r, obj, "transition.time"); err != nil {
		return err
	}
	if err := setAttr(r, "transition.event", event); err != nil {
		return err
	}
	return otTextAttrs(r, obj, map[string]string{"desc": "transition.region", "rid": "transition.region_id", "t": "transition.trigger"})
}

// otBeaconProximity names the booklet's prox codes.
var otBeaconProximity = []string{"unknown", "immediate", "near", "far"}

// otBeacon maps an iOS beacon ranging message: attrs beacon.region (desc),
// beacon.uuid, beacon.major, beacon.minor, beacon.proximity and
// beacon.time; metrics beacon.rssi (dBm) and beacon.accuracy (m).
func otBeacon(r *Reading, obj []member) error {
	if err := otEventTime(r, obj, "beacon.time"); err != nil {
		return err
	}
	if err := otTextAttrs(r, obj, map[string]string{"desc": "beacon.region", "uuid": "beacon.uuid", "major": "beacon.major", "minor": "beacon.minor"}); err != nil {
		return err
	}
	for _, kn := range [][2]string{{"rssi", "beacon.rssi"}, {"acc", "beacon.accuracy"}} {
		key, name := kn[0], kn[1]
		v, _ := lookup(obj, key)
		f, ok, err := otNumber(v)
		if err != nil {
			return err
		}
		if ok {
			if err := setMetric(r, name, f); err != nil {
				return err
			}
		}
	}
	if v, ok := lookup(obj, "prox"); ok {
		if n, isNum := v.(json.Number); isNum {
			if i, err := strconv.Atoi(string(n)); err == nil && i >= 0 && i < len(otBeaconProximity) {
				return setAttr(r, "beacon.proximity", otBeaconProximity[i])
			}
		}
	}
	return nil
}

// otEventTime sets the Reading's time from tst, the moment the event
// happened, and keeps it as the attr name (RFC 3339, UTC) so that the
// event's time survives later Readings of the device. Without a usable
// tst the receive time is the event's time.
func otEventTime(r *Reading, obj []member, name string) error {
	if v, ok := lookup(obj, "tst"); ok {
		if ts, ok := otTime(v); ok {
			r.TS = ts
		}
	}
	return setAttr(r, name, r.TS.UTC().Format(time.RFC3339))
}

// otTextAttrs keeps the string or integer elements of keys as attrs.
func otTextAttrs(r *Reading, obj []member, keys map[string]string) error {
	for _, mb := range obj {
		name, ok := keys[mb.key]
		if !ok {
			continue
		}
		var text string
		switch v := mb.val.(type) {
		case string:
			text = v
		case json.Number:
			text = string(v)
		default:
			continue
		}
		if err := setAttr(r, name, text); err != nil {
			return err
		}
	}
	return nil
}

// otMetrics maps location elements to canonical metrics, with the factor
// into the canonical unit. vel is km/h and stays km/h as speed; p is kPa
// and pressure is hPa.
var otMetrics = map[string]struct {
	name   string
	factor float64
}{
	"lat":  {"latitude", 1},
	"lon":  {"longitude", 1},
	"alt":  {"altitude", 1},
	"batt": {"battery", 1},
	"acc":  {"accuracy", 1},
	"vac":  {"vertical_accuracy", 1},
	"vacc": {"vertical_accuracy", 1},
	"vel":  {"speed", 1},
	"cog":  {"course", 1},
	"p":    {"pressure", 10},
}

// otAttrs maps location elements kept as attrs.
var otAttrs = map[string]string{
	"tid": "tid", "t": "trigger", "SSID": "ssid", "BSSID": "bssid", "conn": "connection", "bs": "battery_status",
}

// otSkipped are location elements that are not device status: identity and
// time (handled apart), the message's construction time, and geofence
// membership by region id.
var otSkipped = map[string]bool{"_type": true, "topic": true, "tst": true, "created_at": true, "inrids": true}

// otLocation maps a location object; lat and lon are required (booklet).
// Numbers sent as strings (apps before Android 0.5.11 and iOS 8.0) are read
// as numbers for the mapped elements. Unknown elements pass through
// (Greenwich dist and trip, Queclink odometer, …) under snake_case names.
func otLocation(r *Reading, obj []member) error {
	for _, req := range []string{"lat", "lon"} {
		if _, ok := lookup(obj, req); !ok {
			return Reject(ReasonInvalidPayload, "location without %s", req)
		}
	}
	if v, ok := lookup(obj, "tst"); ok {
		if ts, ok := otTime(v); ok {
			r.TS = ts
		}
	}
	for _, mb := range obj {
		key, v := mb.key, mb.val
		if v == nil || otSkipped[key] {
			continue
		}
		if mt, ok := otMetrics[key]; ok {
			f, ok, err := otNumber(v)
			if err != nil {
				return err
			}
			if !ok {
				if key == "lat" || key == "lon" {
					return Reject(ReasonInvalidPayload, "%s is not a number", key)
				}
				continue
			}
			if err := setMetric(r, mt.name, roundConv(f*mt.factor)); err != nil {
				return err
			}
			continue
		}
		if name, ok := otAttrs[key]; ok {
			if err := setAttr(r, name, otAttrText(key, v)); err != nil {
				return err
			}
			continue
		}
		if key == "inregions" {
			if err := otRegions(r, v); err != nil {
				return err
			}
			continue
		}
		name := SnakeCase(key)
		if hasField(r, name) {
			continue // a canonical name of a mapped element wins
		}
		if err := flatten(r, name, v); err != nil {
			return err
		}
	}
	return nil
}

// otTime reads tst, epoch seconds as a number or (old apps) a string.
func otTime(v any) (time.Time, bool) {
	if s, ok := v.(string); ok {
		v = json.Number(s) // parseDeviceTime refuses it if it is not a number
	}
	return parseDeviceTime(v)
}

func otNumber(v any) (float64, bool, error) {
	switch v := v.(type) {
	case json.Number:
		f, err := parseNumber(v)
		return f, err == nil, err
	case string:
		return numericString(v)
	}
	return 0, false, nil
}

// otBatteryStatus names the booklet's bs codes.
var otBatteryStatus = []string{"unknown", "unplugged", "charging", "full"}

// otConn names the booklet's conn codes.
var otConn = map[string]string{"w": "wifi", "o": "offline", "m": "mobile"}

func otAttrText(key string, v any) string {
	switch v := v.(type) {
	case string:
		if key == "conn" {
			if s, ok := otConn[v]; ok {
				return s
			}
		}
		return v
	case json.Number:
		if key == "bs" {
			if n, err := strconv.Atoi(string(v)); err == nil && n >= 0 && n < len(otBatteryStatus) {
				return otBatteryStatus[n]
			}
		}
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// otRegions keeps inregions, the names of the regions the device is in, as
// one sorted, comma-separated attr ("" when it is in none).
func otRegions(r *Reading, v any) error {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	return setAttr(r, "inregions", strings.Join(names, ","))
}

// otSimConnected is the tst of simulated last wills: the booklet says an
// lwt's tst is when the app connected, any past time.
const otSimConnected = 1767225600 // 2026-01-01T00:00:00Z

// Availability implements Sampler. The apps send no birth message, so
// only offline has a message: the last will the broker publishes.
func (OwnTracks) Availability(base, device string, online bool) (Message, bool) {
	if online {
		return Message{}, false
	}
	return Message{
		Topic:   JoinBase(base, device),
		Payload: []byte(`{"_type":"lwt","tst":` + strconv.Itoa(otSimConnected) + `}`),
	}, true
}

// Sample implements Sampler: one location publish of a phone moving
// around a point derived from the device name, with the elements the iOS
// and Android apps send with extended data on.
func (OwnTracks) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	h := fnv.New32a()
	_, _ = h.Write([]byte(device))
	seed := h.Sum32()
	lat := 48 + float64(seed%1000)/250       // 48..52 °N
	lon := 2 + float64((seed/1000)%1000)/100 // 2..12 °E
	tid := []rune(strings.ToUpper(device))
	if len(tid) > 2 {
		tid = tid[len(tid)-2:] // the booklet: tid defaults to the topic's last two characters
	}
	vel := float64(rnd.IntN(60))
	payload := map[string]any{
		"_type": "location",
		"lat":   math.Round((lat+rnd.Float64()*0.01)*1e6) / 1e6,
		"lon":   math.Round((lon+rnd.Float64()*0.01)*1e6) / 1e6,
		"alt":   float64(30 + rnd.IntN(400)),
		"acc":   float64(5 + rnd.IntN(60)),
		"vac":   float64(3 + rnd.IntN(20)),
		"batt":  float64(10 + rnd.IntN(91)),
		"bs":    float64(1 + rnd.IntN(3)),
		"vel":   vel,
		"cog":   float64(rnd.IntN(360)),
		"conn":  []string{"w", "m"}[rnd.IntN(2)],
		"t":     "t",
		"tid":   string(tid),
		"tst":   now.Unix(),
	}
	b, _ := json.Marshal(payload)
	return []Message{{Topic: JoinBase(base, device), Payload: b, ReceivedAt: now}}
}
