package devices

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TTN decodes The Things Stack v3 MQTT integration (The Things Network,
// The Things Industries Cloud and Enterprise, and the Open Source edition;
// https://www.thethingsindustries.com/docs/integrations/other-integrations/mqtt/,
// payloads per https://www.thethingsindustries.com/docs/integrations/data-formats/):
//
//	v3/<app-id>@<tenant-id>/devices/<device-id>/up        uplink: decoded
//	v3/<app-id>@<tenant-id>/devices/<device-id>/join      join-accept: online
//	v3/<app-id>@<tenant-id>/devices/<device-id>/down/...  downlink events and
//	                                                      requests: ignored
//	.../service/data, .../location/solved, anything else  ignored
//
// The Open Source edition omits "@<tenant-id>". The device id is the TTS
// device_id (unique within a TTS application); the application and TTS
// tenant become the tags ttn_application and ttn_tenant. The topic is the
// identity: a payload whose end_device_ids disagree with it is rejected.
//
// The zero TTN accepts every TTS tenant; NewTTN restricts it to named
// tenants, so that uplinks of other tenants that share the broker are
// dropped (ReasonForeignTenant) rather than mixed into the source's
// mqlive tenant.
type TTN struct {
	// tenants is the sorted set of TTS tenant ids accepted; nil accepts
	// every tenant.
	tenants []string
}

// ReasonForeignTenant rejects a TTS message of a tenant the source does not
// accept (TTNConfig.Tenants). It is a reject reason like those of
// devices.go, kept here beside the only family that uses it.
const ReasonForeignTenant = "foreign_tenant"

// TTNConfig configures a TTN handler.
type TTNConfig struct {
	// Tenants are the TTS tenant ids (the <tenant-id> of
	// v3/<app-id>@<tenant-id>/devices/…) the source accepts. Empty accepts
	// every tenant, and topics without one (the Open Source edition).
	Tenants []string
}

// NewTTN returns a TTN handler for cfg. A tenant id must be a TTS
// identifier: 1 to 36 of a-z, 0-9 and '-', not starting or ending with '-'.
func NewTTN(cfg TTNConfig) (TTN, error) {
	var t TTN
	for _, id := range cfg.Tenants {
		if !ttnValidID(id) {
			return TTN{}, fmt.Errorf("ttn tenant %.40q is not a The Things Stack tenant id (1 to 36 of a-z, 0-9 and '-', not at either end)", id)
		}
		if !slices.Contains(t.tenants, id) {
			t.tenants = append(t.tenants, id)
		}
	}
	slices.Sort(t.tenants)
	return t, nil
}

// Tenants returns the accepted TTS tenant ids, sorted; nil accepts all.
func (t TTN) Tenants() []string { return slices.Clone(t.tenants) }

// ttnValidID reports whether id is a TTS identifier
// (https://www.thethingsindustries.com/docs/reference/id-eui-constraints/:
// lower-case letters, digits and dashes, at most 36 characters, no dash
// at either end).
func ttnValidID(id string) bool {
	if id == "" || len(id) > 36 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

var (
	_ Handler = TTN{}
	_ Sampler = TTN{}
	_ Staler  = TTN{}
	_ Handler = (*TTN)(nil)
)

// Family implements Handler.
func (TTN) Family() string { return "ttn" }

// DefaultBase implements Handler: the MQTT server's topic version prefix.
func (TTN) DefaultBase() string { return "v3" }

// Filters implements Handler. One filter takes every event of every
// device, so the monitor channel shows join and downlink events too;
// Decode ignores what is not device status.
func (TTN) Filters(base string) []string { return []string{JoinBase(base, "+/devices/+/#")} }

// StaleAfter implements Staler. LoRaWAN sensors are battery powered and
// duty-cycle limited; they commonly report every 10 to 60 minutes (TTN's
// fair use policy allows 30 s of airtime a day). Two hours is two missed
// hourly uplinks; fleets with daily reports set a longer source interval.
func (TTN) StaleAfter() time.Duration { return 2 * time.Hour }

// ttnTopic is a topic below base, split into its parts.
type ttnTopic struct {
	app, tenant, device, kind string
}

// ttnParseTopic splits <app>[@<tenant>]/devices/<device>/<kind...>.
func ttnParseTopic(base, topic string) (ttnTopic, error) {
	rest, ok := TrimBase(base, topic)
	if !ok {
		return ttnTopic{}, Reject(ReasonInvalidTopic, "topic %q is not below base %q", topic, base)
	}
	appTenant, r1, more1 := cutLevel(rest)
	devicesLevel, r2, more2 := cutLevel(r1)
	device, kind, more3 := cutLevel(r2)
	if !more1 || !more2 || !more3 || devicesLevel != "devices" || device == "" || kind == "" {
		return ttnTopic{}, Reject(ReasonInvalidTopic, "topic %q is not <app>@<tenant>/devices/<device>/<event>", topic)
	}
	app, tenant, hasTenant := strings.Cut(appTenant, "@")
	if app == "" || (hasTenant && (tenant == "" || strings.IndexByte(tenant, '@') >= 0)) {
		return ttnTopic{}, Reject(ReasonInvalidTopic, "topic level %q is not <app-id>[@<tenant-id>]", appTenant)
	}
	return ttnTopic{app: app, tenant: tenant, device: device, kind: kind}, nil
}

// Decode implements Handler.
func (t TTN) Decode(base string, m Message) ([]Reading, error) {
	tp, err := ttnParseTopic(base, m.Topic)
	if err != nil {
		return nil, err
	}
	if t.tenants != nil {
		if _, ok := slices.BinarySearch(t.tenants, tp.tenant); !ok || tp.tenant == "" {
			// Checked before anything else, downlink events included:
			// another tenant's messages must not even reach the monitor
			// as this source's decoded or ignored traffic.
			return nil, Reject(ReasonForeignTenant, "TTS tenant %.40q is not one this source accepts", tp.tenant)
		}
	}
	switch tp.kind {
	case "up", "join":
	default:
		// down/push and down/replace are requests to TTS (our own
		// commands among them); down/queued|sent|ack|nack|failed are
		// downlink events; service/data and location/solved carry
		// application-layer service output: none is device status.
		return nil, fmt.Errorf("%w: ttn %s event", ErrIgnored, tp.kind)
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained message [MQTT-3.3.1-10]
	}
	obj, err := decodeObject(m.Payload)
	if err != nil {
		return nil, err
	}
	r := newReading(t.Family(), tp.device, m)
	if err := ttnIdentity(&r, obj, tp); err != nil {
		return nil, err
	}
	if v, ok := lookup(obj, "received_at"); ok {
		if ts, ok := parseDeviceTime(v); ok {
			r.TS = ts
		}
	}
	if tp.kind == "join" {
		// A join-accept means the device has (re)joined the network: the
		// only availability signal TTS sends. It has no offline signal;
		// silence is caught by StaleAfter.
		online := true
		r.Online = &online
		return []Reading{r}, nil
	}
	up, _ := lookup(obj, "uplink_message")
	upm, ok := up.(map[string]any)
	if !ok {
		return nil, Reject(ReasonInvalidPayload, "uplink without an uplink_message object")
	}
	if r.TS.Equal(m.ReceivedAt) {
		if ts, ok := parseDeviceTime(upm["received_at"]); ok {
			r.TS = ts // the Network Server's receive time, when the AS's is absent
		}
	}
	if err := ttnUplink(&r, upm); err != nil {
		return nil, err
	}
	if sim, _ := lookup(obj, "simulated"); sim == true {
		if err := setAttr(&r, "simulated", "true"); err != nil {
			return nil, err
		}
	}
	return []Reading{r}, nil
}

// ttnIdentity checks end_device_ids against the topic (READINGS.md: an
// in-payload identity that disagrees with the topic is rejected) and keeps
// the EUIs and device address as attrs. TTS payloads name the application
// without its tenant; an application_id of the form app@tenant, or a
// tenant_id, is compared with the topic's tenant too.
func ttnIdentity(r *Reading, obj []member, tp ttnTopic) error {
	v, _ := lookup(obj, "end_device_ids")
	ids, ok := v.(map[string]any)
	if !ok {
		return Reject(ReasonInvalidPayload, "no end_device_ids object")
	}
	device, _ := ids["device_id"].(string)
	if device == "" {
		return Reject(ReasonInvalidPayload, "no end_device_ids.device_id")
	}
	if device != tp.device {
		return Reject(ReasonIdentityMismatch, "payload names device %.64q, topic %.64q", device, tp.device)
	}
	appIDs, _ := ids["application_ids"].(map[string]any)
	appTenant, _ := appIDs["application_id"].(string)
	if appTenant == "" {
		return Reject(ReasonInvalidPayload, "no end_device_ids.application_ids.application_id")
	}
	app, tenant, hasTenant := strings.Cut(appTenant, "@")
	if app != tp.app {
		return Reject(ReasonIdentityMismatch, "payload names application %.64q, topic %.64q", app, tp.app)
	}
	if hasTenant && tenant != tp.tenant {
		return Reject(ReasonIdentityMismatch, "payload names tenant %.64q, topic %.64q", tenant, tp.tenant)
	}
	if t, ok := appIDs["tenant_id"].(string); ok && t != "" && t != tp.tenant {
		return Reject(ReasonIdentityMismatch, "payload names tenant %.64q, topic %.64q", t, tp.tenant)
	}
	r.Tags = map[string]string{"ttn_application": tp.app}
	if tp.tenant != "" {
		r.Tags["ttn_tenant"] = tp.tenant
	}
	for _, k := range []string{"dev_eui", "join_eui", "dev_addr"} {
		if s, ok := ids[k].(string); ok && s != "" {
			if err := setAttr(r, k, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// ttnUplink maps uplink_message: frame counters, the best gateway's radio
// metadata, the transmission settings, then decoded_payload.
func ttnUplink(r *Reading, up map[string]any) error {
	for _, k := range []string{"f_port", "f_cnt"} {
		if err := ttnNumberMetric(r, k, up[k]); err != nil {
			return err
		}
	}
	if err := ttnRxMetadata(r, up["rx_metadata"]); err != nil {
		return err
	}
	if err := ttnSettings(r, up["settings"]); err != nil {
		return err
	}
	if s, ok := up["consumed_airtime"].(string); ok {
		// A protobuf Duration in JSON: decimal seconds with an "s" suffix.
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			if err := setMetric(r, "airtime", d.Seconds()); err != nil {
				return err
			}
		}
	}
	if dp, ok := up["decoded_payload"].(map[string]any); ok {
		if err := ttnDecodedPayload(r, dp); err != nil {
			return err
		}
	}
	return ttnUserLocation(r, up)
}

// ttnNumberMetric stores v under name when it is a number, or a number
// sent as a string (protobuf JSON writes 64-bit integers such as frequency
// as strings). Anything else is left out.
func ttnNumberMetric(r *Reading, name string, v any) error {
	var f float64
	switch v := v.(type) {
	case json.Number:
		var err error
		if f, err = parseNumber(v); err != nil {
			return err
		}
	case string:
		n, ok, err := numericString(v)
		if err != nil || !ok {
			return err
		}
		f = n
	default:
		return nil
	}
	return setMetric(r, name, f)
}

// ttnRxMetadata picks the gateway with the strongest signal (highest RSSI,
// then SNR): it is the link the dashboard cares about. rssi is dBm, snr dB;
// gateways counts the antennas that heard the uplink.
func ttnRxMetadata(r *Reading, v any) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	var best map[string]any
	bestRSSI, bestSNR := math.Inf(-1), math.Inf(-1)
	for _, e := range list {
		g, ok := e.(map[string]any)
		if !ok {
			continue
		}
		rv, ok := g["rssi"]
		if !ok {
			rv = g["channel_rssi"]
		}
		rssi, hasRSSI, err := ttnNumber(rv)
		if err != nil {
			return err
		}
		snr, hasSNR, err := ttnNumber(g["snr"])
		if err != nil {
			return err
		}
		if !hasRSSI {
			rssi = math.Inf(-1)
		}
		if !hasSNR {
			snr = math.Inf(-1)
		}
		if best == nil || rssi > bestRSSI || (rssi == bestRSSI && snr > bestSNR) {
			best, bestRSSI, bestSNR = g, rssi, snr
		}
	}
	if best == nil {
		return nil
	}
	if err := setMetric(r, "gateways", float64(len(list))); err != nil {
		return err
	}
	if !math.IsInf(bestRSSI, 0) {
		if err := setMetric(r, "rssi", bestRSSI); err != nil {
			return err
		}
	}
	if !math.IsInf(bestSNR, 0) {
		if err := setMetric(r, "snr", bestSNR); err != nil {
			return err
		}
	}
	if ids, ok := best["gateway_ids"].(map[string]any); ok {
		if id, ok := ids["gateway_id"].(string); ok && id != "" {
			return setAttr(r, "gateway_id", id)
		}
	}
	return nil
}

// ttnNumber reads a JSON number; ok is false for anything else.
func ttnNumber(v any) (f float64, ok bool, err error) {
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, false, nil
	}
	f, err = parseNumber(n)
	return f, err == nil, err
}

// ttnSettings maps the transmission settings: LoRa spreading factor and
// bandwidth (Hz), FSK bit rate (bit/s), frequency (Hz) and coding rate.
func ttnSettings(r *Reading, v any) error {
	s, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if dr, ok := s["data_rate"].(map[string]any); ok {
		if lora, ok := dr["lora"].(map[string]any); ok {
			for _, k := range []string{"spreading_factor", "bandwidth"} {
				if err := ttnNumberMetric(r, k, lora[k]); err != nil {
					return err
				}
			}
			if cr, ok := lora["coding_rate"].(string); ok && cr != "" {
				if err := setAttr(r, "coding_rate", cr); err != nil {
					return err
				}
			}
		}
		if fsk, ok := dr["fsk"].(map[string]any); ok {
			if err := ttnNumberMetric(r, "bit_rate", fsk["bit_rate"]); err != nil {
				return err
			}
		}
	}
	if err := ttnNumberMetric(r, "frequency", s["frequency"]); err != nil {
		return err
	}
	if cr, ok := s["coding_rate"].(string); ok && cr != "" && !hasField(r, "coding_rate") {
		return setAttr(r, "coding_rate", cr) // before TTS 3.19 it sat in settings
	}
	return nil
}

// ttnDecodedPayload maps the payload formatter's output: names are
// snake_cased (so "Temperature" is the canonical temperature), vendor
// aliases (alias.go: ttnAliases, Dragino's TempC_SHT, …) and CayenneLPP
// keys (temperature_1, relative_humidity_2, gps_3, …) become canonical
// names, numbers and booleans are metrics, strings attrs, nested objects
// are flattened and arrays skipped (flatten). A name already taken (rssi
// from the gateway, or temperature beside temp) is kept as decoded.<name>
// rather than overwriting it. Keys are visited in sorted order, exact
// names before aliases before CayenneLPP channels, so the result never
// depends on the payload's key order.
func ttnDecodedPayload(r *Reading, dp map[string]any) error {
	keys := slices.Sorted(maps.Keys(dp))
	var aliased, lpp []string
	for _, k := range keys {
		name := SnakeCase(k)
		if _, isAlias := ttnAliases[name]; isAlias {
			aliased = append(aliased, k)
			continue
		}
		if _, _, isLPP := cayenneKey(name); isLPP || isCayenneGPS(name, dp[k]) {
			lpp = append(lpp, k)
			continue
		}
		if err := ttnDecodedField(r, name, dp[k]); err != nil {
			return err
		}
	}
	for _, k := range aliased {
		name := SnakeCase(k)
		switch dp[k].(type) {
		case json.Number, bool: // a string ("n/a") is not the quantity
			if !hasField(r, ttnAliases[name]) {
				name = ttnAliases[name]
			}
		}
		if err := ttnDecodedField(r, name, dp[k]); err != nil {
			return err
		}
	}
	return ttnCayenne(r, dp, lpp)
}

// ttnCayenne maps CayenneLPP keys <type>_<channel> (The Things Stack's
// CayenneLPP formatter). Per quantity the lowest channel is the primary
// instance, named canonically (temperature_1 → temperature) unless that
// name is taken; other channels are channel_<n>.<quantity> (READINGS.md
// "<instance>.<metric>"). presence is 0/1 and becomes the bool occupancy.
// gps_<n> ({latitude, longitude, altitude}) gives the position.
func ttnCayenne(r *Reading, dp map[string]any, keys []string) error {
	type lppField struct {
		key, quantity string
		channel       int
	}
	fields := make([]lppField, 0, len(keys))
	for _, k := range keys {
		name := SnakeCase(k)
		q, ch, ok := cayenneKey(name)
		if !ok { // gps_<n>
			q = "gps"
			ch, _ = strconv.Atoi(name[len("gps_"):])
		}
		fields = append(fields, lppField{key: k, quantity: q, channel: ch})
	}
	slices.SortFunc(fields, func(a, b lppField) int {
		if c := strings.Compare(a.quantity, b.quantity); c != 0 {
			return c
		}
		return a.channel - b.channel
	})
	for i, f := range fields {
		primary := i == 0 || fields[i-1].quantity != f.quantity
		v := dp[f.key]
		if f.quantity == "gps" {
			if err := ttnCayenneGPS(r, f.channel, primary, v.(map[string]any)); err != nil {
				return err
			}
			continue
		}
		n, isNum := v.(json.Number)
		if !isNum {
			// Not the number the format defines: keep it under its key.
			if err := ttnDecodedField(r, SnakeCase(f.key), v); err != nil {
				return err
			}
			continue
		}
		val, err := parseNumber(n)
		if err != nil {
			return err
		}
		name := f.quantity
		if !primary || hasField(r, name) {
			name = "channel_" + strconv.Itoa(f.channel) + "." + f.quantity
		}
		var mv any = val
		if f.quantity == "occupancy" {
			mv = val != 0
		}
		if err := setMetric(r, name, mv); err != nil {
			return err
		}
	}
	return nil
}

// isCayenneGPS reports whether name is gps_<channel> with an object value,
// as The Things Stack's CayenneLPP formatter writes a GPS location.
func isCayenneGPS(name string, v any) bool {
	ch, ok := strings.CutPrefix(name, "gps_")
	if !ok || ch == "" || len(ch) > 3 || strings.Trim(ch, "0123456789") != "" {
		return false
	}
	_, isObj := v.(map[string]any)
	return isObj
}

// ttnCayenneGPS maps a CayenneLPP GPS object: the primary channel's
// latitude, longitude and altitude (degrees, degrees, m) are the device's
// position, others are channel_<n>.latitude, ….
func ttnCayenneGPS(r *Reading, channel int, primary bool, obj map[string]any) error {
	for _, k := range []string{"latitude", "longitude", "altitude"} {
		v, ok := obj[k].(json.Number)
		if !ok {
			continue
		}
		f, err := parseNumber(v)
		if err != nil {
			return err
		}
		name := k
		if !primary || hasField(r, name) {
			name = "channel_" + strconv.Itoa(channel) + "." + k
		}
		if err := setMetric(r, name, f); err != nil {
			return err
		}
	}
	return nil
}

// ttnUserLocation is the fallback position: when the payload formatter
// gave none, uplink_message.locations.user (the location set on the device
// in The Things Stack's registry, source SOURCE_REGISTRY) is the device's
// latitude, longitude and altitude.
func ttnUserLocation(r *Reading, up map[string]any) error {
	if hasField(r, "latitude") || hasField(r, "longitude") {
		return nil
	}
	locs, _ := up["locations"].(map[string]any)
	user, _ := locs["user"].(map[string]any)
	lat, okLat := user["latitude"].(json.Number)
	lon, okLon := user["longitude"].(json.Number)
	if !okLat || !okLon {
		return nil
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"latitude", lat}, {"longitude", lon}, {"altitude", user["altitude"]}} {
		n, ok := f.v.(json.Number)
		if !ok || hasField(r, f.name) {
			continue
		}
		x, err := parseNumber(n)
		if err != nil {
			return err
		}
		if err := setMetric(r, f.name, x); err != nil {
			return err
		}
	}
	return nil
}

func ttnDecodedField(r *Reading, name string, v any) error {
	if v == nil {
		return nil
	}
	if hasField(r, name) {
		name = "decoded." + name
	}
	return flatten(r, name, v)
}

// ttnSimApp and ttnSimTenant place simulated devices in one application on
// The Things Network's tenant, as a real TTN MQTT connection sees them.
const (
	ttnSimApp    = "mqlive-sim"
	ttnSimTenant = "ttn"
)

func ttnSimTopic(base, device, kind string) string {
	return JoinBase(base, ttnSimApp+"@"+ttnSimTenant+"/devices/"+device+"/"+kind)
}

// ttnSimIDs returns end_device_ids with EUIs derived from the device name.
func ttnSimIDs(device string) map[string]any {
	h := fnv.New64a()
	_, _ = h.Write([]byte(device))
	eui := h.Sum64()
	return map[string]any{
		"device_id":       device,
		"application_ids": map[string]any{"application_id": ttnSimApp},
		"dev_eui":         fmt.Sprintf("%016X", eui),
		"join_eui":        "0000000000000000",
		"dev_addr":        fmt.Sprintf("%08X", uint32(eui>>32)),
	}
}

// Availability implements Sampler: a join-accept announces the device
// online. TTS has no offline message, so ok is false for online=false.
func (TTN) Availability(base, device string, online bool) (Message, bool) {
	if !online {
		return Message{}, false
	}
	b, _ := json.Marshal(map[string]any{
		"end_device_ids":  ttnSimIDs(device),
		"correlation_ids": []string{"as:up:mqlive-sim"},
		"join_accept":     map[string]any{"session_key_id": "AXBSH1Pk6Z0G166RlH16CQ=="},
	})
	return Message{Topic: ttnSimTopic(base, device, "join"), Payload: b}, true
}

// Sample implements Sampler: one uplink of a temperature/humidity sensor in
// the data-formats page's shape, heard by one to three gateways.
func (TTN) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	temp := round2(15 + rnd.Float64()*12)
	hum := round2(30 + rnd.Float64()*40)
	batt := float64(50 + rnd.IntN(51))
	// The frame payload is what a formatter would decode: temperature in
	// centidegrees, humidity in half percent, battery percent.
	raw := []byte{byte(int16(temp*100) >> 8), byte(int16(temp * 100)), byte(hum * 2), byte(batt)}
	gateways := make([]any, 1+rnd.IntN(3))
	for i := range gateways {
		gateways[i] = map[string]any{
			"gateway_ids": map[string]any{"gateway_id": fmt.Sprintf("eui-b827ebfffe%06x", i+1)},
			"time":        now.UTC().Format(time.RFC3339Nano),
			"rssi":        float64(-120 + rnd.IntN(90)),
			"snr":         round2(-15 + rnd.Float64()*25),
		}
	}
	sf := 7 + rnd.IntN(6)
	payload := map[string]any{
		"end_device_ids":  ttnSimIDs(device),
		"correlation_ids": []string{"as:up:mqlive-sim"},
		"received_at":     now.UTC().Format(time.RFC3339Nano),
		"uplink_message": map[string]any{
			"f_port":          2,
			"f_cnt":           now.Unix() / 600 % 65536,
			"frm_payload":     base64.StdEncoding.EncodeToString(raw),
			"decoded_payload": map[string]any{"temperature": temp, "humidity": hum, "battery": batt},
			"rx_metadata":     gateways,
			"settings": map[string]any{
				"data_rate": map[string]any{"lora": map[string]any{"bandwidth": 125000, "spreading_factor": sf, "coding_rate": "4/5"}},
				"frequency": fmt.Sprint(867100000 + 200000*rnd.IntN(8)),
			},
			"consumed_airtime": fmt.Sprintf("%.6fs", 0.041216*math.Pow(2, float64(sf-7))),
			"received_at":      now.UTC().Format(time.RFC3339Nano),
		},
	}
	b, _ := json.Marshal(payload)
	return []Message{{Topic: ttnSimTopic(base, device, "up"), Payload: b, ReceivedAt: now}}
}
