package devices

import (
	"strings"
	"sync"
)

// Learner is implemented by stateful families: families that learn metadata
// at run time from retained messages (Homie's $datatype/$unit/$description,
// Home Assistant discovery configs) and need it to interpret later values.
//
// In a cluster the bridge consumes device topics through shared
// subscriptions ($share/<group>/…), and MQTT 5 does not send retained
// messages to a shared subscription [MQTT-3.8.4-?, §4.8.2 "Retained
// messages are not sent to the Session when it establishes a new Shared
// Subscription"]. So every node must subscribe the filters LearnFilters
// returns without $share: each node then learns the metadata itself, and the
// values keep flowing through the shared subscription. The learn filters are
// covered by Filters(base): they add no topic to the source, they only say
// which part of it every node must see.
type Learner interface {
	// LearnFilters returns the filters, under base, of the messages the
	// family learns from. They are low-rate and retained.
	LearnFilters(base string) []string
}

// MaxLearnt bounds the metadata a stateful family keeps per handler value
// (entries of its learnt table). A broker that announces more is either
// far larger than one source should be or hostile; past the bound new
// entries are not learnt (their values decode as if unannounced) while
// known entries still update and can be removed.
const MaxLearnt = 100_000

// learnt is a bounded, concurrency-safe map of learnt metadata. Decode
// holds its lock only for map operations: no I/O, no blocking.
type learnt[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

func (l *learnt[V]) get(k string) (V, bool) {
	l.mu.RLock()
	v, ok := l.m[k]
	l.mu.RUnlock()
	return v, ok
}

// update applies f to the entry of k under the write lock. f returns the
// new value and whether to keep it (false deletes the entry). A new entry
// is not stored when the table holds MaxLearnt entries; update reports
// whether the result was stored.
func (l *learnt[V]) update(k string, f func(old V, ok bool) (V, bool)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]V)
	}
	old, ok := l.m[k]
	v, keep := f(old, ok)
	switch {
	case !keep:
		delete(l.m, k)
		return false
	case !ok && len(l.m) >= MaxLearnt:
		return false
	}
	l.m[k] = v
	return true
}

func (l *learnt[V]) set(k string, v V) bool {
	return l.update(k, func(V, bool) (V, bool) { return v, true })
}

func (l *learnt[V]) delete(k string) {
	l.mu.Lock()
	delete(l.m, k)
	l.mu.Unlock()
}

func (l *learnt[V]) len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.m)
}

// learntKey joins key parts with NUL, which no MQTT topic level contains
// [MQTT-1.5.3-2], so distinct part lists never collide.
func learntKey(parts ...string) string { return strings.Join(parts, "\x00") }

// canonicalIDs maps the ids devices commonly give a quantity (a Homie
// property id, an ESPHome object id, a JSON key of a discovery
// value_template) to READINGS.md names. Only exact ids are mapped: a
// partial match ("cpu_temperature") is a different quantity.
var canonicalIDs = map[string]string{
	"temperature": "temperature", "temp": "temperature",
	"humidity": "humidity", "hum": "humidity", "relative_humidity": "humidity",
	"pressure": "pressure", "atmospheric_pressure": "pressure",
	"battery": "battery", "battery_level": "battery",
	"voltage": "voltage", "current": "current", "power": "power", "energy": "energy",
	"illuminance": "illuminance", "illuminance_lux": "illuminance", "lux": "illuminance",
	"rssi": "rssi", "wifi_signal": "rssi", "signal": "signal", "linkquality": "linkquality",
	"latitude": "latitude", "longitude": "longitude", "altitude": "altitude",
	"co2": "co2", "carbon_dioxide": "co2", "pm25": "pm25", "pm2_5": "pm25", "pm10": "pm10",
	"voc": "voc", "contact": "contact", "occupancy": "occupancy", "state": "state",
	"uptime": "uptime",
}

// canonicalID returns the READINGS.md name of id (already snake_case).
func canonicalID(id string) (string, bool) {
	c, ok := canonicalIDs[id]
	return c, ok
}

// canonicalUnits are the READINGS.md metrics with a canonical unit; values
// of other metrics pass through unconverted, because a converted value
// under a name that does not say its unit would be misread.
var canonicalUnits = map[string]bool{
	"temperature": true, "humidity": true, "pressure": true, "battery": true,
	"voltage": true, "current": true, "power": true, "energy": true,
	"illuminance": true, "rssi": true, "signal": true, "altitude": true,
	"co2": true, "voc": true, "uptime": true,
}

// convertTo converts v in unit to the canonical unit of metric (the last
// dotted part of a "<instance>.<metric>" name counts). Unknown units and
// non-canonical metrics keep their value.
func convertTo(metric string, v float64, unit string) float64 {
	if i := strings.LastIndexByte(metric, '.'); i >= 0 {
		metric = metric[i+1:]
	}
	if !canonicalUnits[metric] || unit == "" {
		return v
	}
	u := strings.ToLower(strings.TrimSpace(unit))
	switch {
	case metric == "voc" && u == "ppm":
		return roundConv(v * 1000)
	case metric == "uptime" && (u == "min" || u == "h" || u == "d"):
		scale := map[string]float64{"min": 60, "h": 3600, "d": 86400}[u]
		return roundConv(v * scale)
	case u == "bar":
		return roundConv(v * 1000)
	case u == "psi":
		return roundConv(v * 68.9475729318)
	}
	if c, ok := toCanonical(v, unit); ok {
		return c
	}
	return v
}
