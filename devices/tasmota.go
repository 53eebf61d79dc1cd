package devices

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tasmota decodes Tasmota's MQTT telemetry (https://tasmota.github.io/docs/MQTT/)
// with the default FullTopic %prefix%/%topic%/, or the one a source
// configures (NewTasmota), below an optional base:
//
//	tele/<topic>/LWT       "Online" / "Offline" (retained last will)
//	tele/<topic>/SENSOR    sensor JSON, one object per sensor, ENERGY for meters
//	tele/<topic>/STATE     uptime, relays (POWER, POWER1..n), Wi-Fi, heap
//	tele/<topic>/UPTIME    like STATE (uptime only)
//	tele/<topic>/INFO1..3  module, version, hostname, IP, restart reason → attrs
//	stat/<topic>/POWER[n]  the relay's StateText (ON / OFF, or as configured), or 1 / 0
//	stat/<topic>/RESULT    command results: only POWER[n] keys are used
//	stat/<topic>/STATUS, STATUS0..STATUS11  Status command replies (tasmota_status.go)
//
// Every other tele/stat subtopic (tele/RESULT rule output, MARGINS,
// HASS_STATE, UPGRADE…) is ignored deliberately: it is not device status.
// The device id is %topic%, which may contain '/' ("kitchen/plug").
type Tasmota struct {
	ft        *tasmotaFullTopic // nil: the default FullTopic
	stateText [4]string         // StateText1..4 as configured; "" is the default
}

var (
	_ Handler = Tasmota{}
	_ Sampler = Tasmota{}
	_ Staler  = Tasmota{}
	_ Handler = (*Tasmota)(nil)
)

// Family implements Handler.
func (Tasmota) Family() string { return "tasmota" }

// DefaultBase implements Handler: the default FullTopic has no common
// prefix.
func (Tasmota) DefaultBase() string { return "" }

// Filters implements Handler: everything below the FullTopic's levels
// before %topic% ("tele/#", "stat/#" by default), since %topic% may span
// levels.
func (t Tasmota) Filters(base string) []string { return t.fullTopic().filters(base) }

// StaleAfter implements Staler: three default TelePeriods (300 s).
func (Tasmota) StaleAfter() time.Duration { return 15 * time.Minute }

// Decode implements Handler.
func (t Tasmota) Decode(base string, m Message) ([]Reading, error) {
	rest, ok := TrimBase(base, m.Topic)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not below base %q", m.Topic, base)
	}
	tt, ok := t.fullTopic().split(rest)
	if !ok {
		return nil, Reject(ReasonInvalidTopic, "topic %q is not <FullTopic %s><subtopic>", m.Topic, t.fullTopic().raw)
	}
	prefix, sub := tt.prefix, tt.sub
	if prefix != "tele" && prefix != "stat" {
		return nil, fmt.Errorf("%w: tasmota %.20s topic", ErrIgnored, prefix)
	}
	if len(m.Payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrIgnored) // cleared retained message [MQTT-3.3.1-10]
	}
	r := newReading(t.Family(), tt.device, m)
	var err error
	switch {
	case prefix == "tele" && sub == "LWT":
		err = tasmotaLWT(&r, m.Payload)
	case prefix == "tele" && sub == "SENSOR":
		err = decodeThen(m.Payload, func(obj []member) error { return tasmotaSensor(&r, obj) })
	case prefix == "tele" && (sub == "STATE" || sub == "UPTIME"):
		err = decodeThen(m.Payload, func(obj []member) error { return t.state(&r, obj) })
	case prefix == "tele" && (sub == "INFO1" || sub == "INFO2" || sub == "INFO3"):
		err = tasmotaInfo(&r, sub, m.Payload)
	case prefix == "stat" && tasmotaPowerIndex(sub) > 0:
		err = t.powerText(&r, sub, m.Payload)
	case prefix == "stat" && sub == "RESULT":
		err = decodeThen(m.Payload, func(obj []member) error { return t.result(&r, obj) })
	case prefix == "stat" && tasmotaStatusTopic(sub):
		err = t.status(&r, m.Payload)
	default:
		return nil, fmt.Errorf("%w: tasmota %s/%.20s", ErrIgnored, prefix, sub)
	}
	if err != nil {
		return nil, err
	}
	if err := tasmotaTopicAttrs(&r, tt); err != nil {
		return nil, err
	}
	return []Reading{r}, nil
}

// tasmotaTopicAttrs keeps the %hostname% and %id% levels of a FullTopic
// that has them.
func tasmotaTopicAttrs(r *Reading, tt tasmotaTopic) error {
	if tt.hostname != "" {
		if err := setAttr(r, "hostname", tt.hostname); err != nil {
			return err
		}
	}
	if tt.id != "" {
		return setAttr(r, "mac", tt.id)
	}
	return nil
}

func decodeThen(p []byte, f func([]member) error) error {
	obj, err := decodeObject(p)
	if err != nil {
		return err
	}
	return f(obj)
}

func tasmotaLWT(r *Reading, p []byte) error {
	if err := CheckPayload(p); err != nil {
		return err
	}
	var online bool
	switch s := string(p); {
	case strings.EqualFold(s, "Online"):
		online = true
	case strings.EqualFold(s, "Offline"):
	default:
		return Reject(ReasonInvalidPayload, "LWT is %.40q, want Online or Offline", s)
	}
	r.Online = &online
	return nil
}

// tasmotaPowerIndex returns n for POWER (1) and POWERn, else 0.
func tasmotaPowerIndex(key string) int {
	if key == "POWER" {
		return 1
	}
	digits, ok := strings.CutPrefix(key, "POWER")
	if !ok || digits == "" || len(digits) > 2 || digits[0] == '0' {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0
	}
	return n
}

// tasmotaPowerName: POWER and POWER1 are the primary relay ("state"); relay
// n ≥ 2 is a second instance, "power<n>.state" (READINGS.md).
func tasmotaPowerName(n int) string {
	if n <= 1 {
		return "state"
	}
	return "power" + strconv.Itoa(n) + ".state"
}

func (t Tasmota) powerText(r *Reading, sub string, p []byte) error {
	if err := CheckPayload(p); err != nil {
		return err
	}
	if p[0] == '{' {
		// With SetOption4 the command reply arrives on stat/<topic>/POWER
		// as JSON instead of stat/<topic>/RESULT.
		return decodeThen(p, func(obj []member) error { return t.result(r, obj) })
	}
	switch t.powerState(string(p)) {
	case powerOn:
		return setMetric(r, tasmotaPowerName(tasmotaPowerIndex(sub)), true)
	case powerOff:
		return setMetric(r, tasmotaPowerName(tasmotaPowerIndex(sub)), false)
	case powerNoState:
		return fmt.Errorf("%w: tasmota %s %.10q is an action, not a state", ErrIgnored, sub, p)
	}
	// An unknown text is not guessed at: configure state_text.
	return Reject(ReasonInvalidPayload, "%s is %.40q, want ON, OFF, 1, 0 or a configured state_text", sub, string(p))
}

// power reads a POWER[n] key of STATE or RESULT. ok is false when key is
// not a relay key; a TOGGLE or HOLD value is skipped.
func (t Tasmota) power(r *Reading, key string, v any) (bool, error) {
	n := tasmotaPowerIndex(key)
	if n == 0 {
		return false, nil
	}
	switch t.powerValue(v) {
	case powerOn:
		return true, setMetric(r, tasmotaPowerName(n), true)
	case powerOff:
		return true, setMetric(r, tasmotaPowerName(n), false)
	case powerNoState:
		return true, nil
	}
	return true, Reject(ReasonInvalidPayload, "%s is %.40v, want ON, OFF, 1, 0 or a configured state_text", key, v)
}

func (t Tasmota) result(r *Reading, obj []member) error {
	for _, mb := range obj {
		if _, err := t.power(r, mb.key, mb.val); err != nil {
			return err
		}
	}
	if len(r.Metrics) == 0 {
		return fmt.Errorf("%w: tasmota command result without POWER", ErrIgnored)
	}
	return nil
}

// innerObject returns the object under key of the object p, in key order.
func innerObject(p []byte, key string) ([]member, error) {
	if _, err := decodeObject(p); err != nil {
		return nil, err // every check, including numbers, on the whole payload
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(p, &outer); err != nil {
		return nil, Reject(ReasonInvalidJSON, "%v", err)
	}
	raw, ok := outer[key]
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return nil, Reject(ReasonInvalidPayload, "no %s object", key)
	}
	return decodeObject(raw)
}

func sortedMembers(m map[string]any) []member {
	out := make([]member, 0, len(m))
	for k, v := range m {
		out = append(out, member{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i].key, out[j].key) })
	return out
}

// naturalLess orders "DS18B20-2" before "DS18B20-10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		ad, bd := leadingDigits(a), leadingDigits(b)
		if ad > 0 && bd > 0 {
			an, bn := strings.TrimLeft(a[:ad], "0"), strings.TrimLeft(b[:bd], "0")
			if len(an) != len(bn) {
				return len(an) < len(bn)
			}
			if an != bn {
				return an < bn
			}
			a, b = a[ad:], b[bd:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// tasmotaTime sets TS from "Time" unless "Epoch" (Unix seconds, sent by
// some builds and with DeepSleep) already did: Epoch has no zone ambiguity.
func tasmotaTime(r *Reading, obj []member) {
	if v, ok := lookup(obj, "Epoch"); ok {
		if t, ok := parseDeviceTime(v); ok {
			r.TS = t
			return
		}
	}
	v, _ := lookup(obj, "Time")
	if t, ok := parseDeviceTime(v); ok {
		// Tasmota's Time is local time, without an offset unless
		// SetOption52 adds one. Without one it is read as UTC: exact for
		// devices on UTC, off by the zone offset for others (documented in
		// README.md; a dashboard shows the skew rather than hiding it).
		r.TS = t
	}
}

// tasmotaSensorField maps Tasmota's sensor field names to READINGS.md
// metrics, with the unit kind that TempUnit/PressureUnit convert.
func tasmotaSensorField(key string) (name string, kind byte) {
	switch key {
	case "Temperature":
		return "temperature", 't'
	case "Humidity":
		return "humidity", 0
	case "Pressure":
		return "pressure", 'p'
	case "SeaPressure":
		return "sea_pressure", 'p'
	case "Illuminance":
		return "illuminance", 0
	case "CarbonDioxide", "eCO2", "CO2":
		return "co2", 0
	case "TVOC":
		return "voc", 0
	case "PM2.5":
		return "pm25", 0
	case "PM10":
		return "pm10", 0
	case "Voltage":
		return "voltage", 0
	case "Current":
		return "current", 0
	case "Power":
		return "power", 0
	case "Energy":
		return "energy", 0
	}
	if strings.Contains(key, "Temperature") || key == "DewPoint" || key == "HeatIndex" {
		return SnakeCase(key), 't'
	}
	return SnakeCase(key), 0
}

// tasmotaEnergyField maps the ENERGY object of metering plugs. Total,
// Today and Yesterday are kWh; Period is Wh since the last TelePeriod.
func tasmotaEnergyField(key string) (string, byte) {
	switch key {
	case "Total":
		return "energy", 0
	case "Today":
		return "energy_today", 0
	case "Yesterday":
		return "energy_yesterday", 0
	}
	return tasmotaSensorField(key)
}

type tasmotaUnits struct{ temp, pressure string }

// claim returns name for the first sensor that reports it and
// "<sensor>.<name>" for later ones: a second probe never overwrites the
// primary one (READINGS.md).
func claim(r *Reading, sensor, name string) string {
	if sensor == "" || !hasField(r, name) {
		return name
	}
	return sensor + "." + name
}

// tasmotaSensor maps tele/SENSOR in payload order: the first sensor that
// reports a quantity is the primary one (DS18B20-1 before DS18B20-2).
func tasmotaSensor(r *Reading, obj []member) error {
	u := tasmotaUnits{temp: "C", pressure: "hPa"}
	if v, ok := lookup(obj, "TempUnit"); ok {
		if s, ok := v.(string); ok {
			u.temp = s
		}
	}
	if v, ok := lookup(obj, "PressureUnit"); ok {
		if s, ok := v.(string); ok {
			u.pressure = s
		}
	}
	tasmotaTime(r, obj)
	for _, mb := range obj {
		if mb.key == "Epoch" {
			continue
		}
		switch v := mb.val.(type) {
		case nil:
		case map[string]any:
			fields := tasmotaSensorField
			if mb.key == "ENERGY" {
				fields = tasmotaEnergyField
			}
			if err := tasmotaObject(r, mb.key, v, u, fields); err != nil {
				return err
			}
		case string:
			switch mb.key {
			case "Time":
			case "TempUnit", "PressureUnit", "SpeedUnit":
			default:
				// Switch1 "ON": a binary input is a bool metric.
				name := SnakeCase(mb.key)
				if on, ok := parseOnOff(v); ok {
					if err := setMetric(r, name, on); err != nil {
						return err
					}
				} else if err := setAttr(r, name, v); err != nil {
					return err
				}
			}
		default:
			if err := tasmotaValue(r, "", mb.key, v, u, tasmotaSensorField); err != nil {
				return err
			}
		}
	}
	return nil
}

// tasmotaObject maps one sensor object (AM2301, DS18B20-2, ENERGY, or a
// nested one such as ANALOG.CTEnergy). Keys are visited in natural order so
// that the result does not depend on map iteration.
func tasmotaObject(r *Reading, sensor string, obj map[string]any, u tasmotaUnits, fields func(string) (string, byte)) error {
	for _, mb := range sortedMembers(obj) {
		if err := tasmotaValue(r, sensor, mb.key, mb.val, u, fields); err != nil {
			return err
		}
	}
	return nil
}

func tasmotaValue(r *Reading, sensor, key string, v any, u tasmotaUnits, fields func(string) (string, byte)) error {
	name, kind := fields(key)
	switch v := v.(type) {
	case json.Number:
		f, err := parseNumber(v)
		if err != nil {
			return err
		}
		return setMetric(r, claim(r, sensor, name), tasmotaConvert(f, kind, u))
	case bool:
		return setMetric(r, claim(r, sensor, name), v)
	case string:
		return setAttr(r, claim(r, sensor, name), v)
	case map[string]any:
		inner := key
		if sensor != "" {
			inner = sensor + "." + key
		}
		return tasmotaObject(r, inner, v, u, tasmotaSensorField)
	case []any:
		// Multi-channel meters send arrays ("Power":[12.5,0]): channel 1 is
		// the primary value, channel n is "channel<n>.<name>".
		for i, e := range v {
			n, ok := e.(json.Number)
			if !ok {
				continue
			}
			f, err := parseNumber(n)
			if err != nil {
				return err
			}
			cname := claim(r, sensor, name)
			if i > 0 {
				cname = "channel" + strconv.Itoa(i+1) + "." + name
			}
			if err := setMetric(r, cname, tasmotaConvert(f, kind, u)); err != nil {
				return err
			}
		}
	}
	return nil
}

func tasmotaConvert(f float64, kind byte, u tasmotaUnits) float64 {
	unit := ""
	switch kind {
	case 't':
		unit = u.temp
	case 'p':
		unit = u.pressure
	}
	if c, ok := toCanonical(f, unit); ok {
		return c
	}
	return f // an unknown unit is passed through as sent
}

// state maps tele/STATE: UptimeSec → uptime (or Uptime "1T02:03:04"
// on releases without UptimeSec), POWER[n] → state / power<n>.state,
// Wifi.RSSI (a 0–100 quality) → signal, Wifi.Signal (dBm) → rssi, other
// Wifi fields → wifi.*, other numbers pass through (heap, load_avg, sleep).
func (t Tasmota) state(r *Reading, obj []member) error {
	_, hasUptimeSec := lookup(obj, "UptimeSec")
	tasmotaTime(r, obj)
	for _, mb := range obj {
		if mb.val == nil {
			continue
		}
		if ok, err := t.power(r, mb.key, mb.val); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		var err error
		switch mb.key {
		case "Time", "Epoch":
		case "UptimeSec":
			err = flatten(r, "uptime", mb.val)
		case "Uptime":
			if s, ok := mb.val.(string); ok && !hasUptimeSec {
				if sec, ok := parseTasmotaUptime(s); ok {
					err = setMetric(r, "uptime", sec)
				}
			}
		case "Wifi":
			err = tasmotaWifi(r, mb.val)
		default:
			err = flatten(r, Alias("tasmota", SnakeCase(mb.key)), mb.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func tasmotaWifi(r *Reading, v any) error {
	wifi, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, mb := range sortedMembers(wifi) {
		name := "wifi." + SnakeCase(mb.key)
		switch mb.key {
		case "SSId":
			name = "wifi.ssid"
		case "BSSId":
			name = "wifi.bssid"
		case "RSSI":
			name = "signal" // Tasmota's RSSI is a percentage quality
		case "Signal":
			name = "rssi" // and Signal is the dBm value
		}
		if err := flatten(r, name, mb.val); err != nil {
			return err
		}
	}
	return nil
}

// parseTasmotaUptime reads "<days>T<hh>:<mm>:<ss>" (releases before 6.x:
// "<days> <hh>:<mm>:<ss>").
func parseTasmotaUptime(s string) (float64, bool) {
	days, clock, ok := strings.Cut(s, "T")
	if !ok {
		days, clock, ok = strings.Cut(s, " ")
	}
	if !ok || len(days) > 6 {
		return 0, false
	}
	d, err := strconv.Atoi(days)
	if err != nil || d < 0 {
		return 0, false
	}
	var h, m, sec int
	if n, err := fmt.Sscanf(clock, "%d:%d:%d", &h, &m, &sec); err != nil || n != 3 {
		return 0, false
	}
	return float64(d*86400 + h*3600 + m*60 + sec), true
}

// tasmotaInfo maps INFO1..3 ({"Info1":{"Module":…,"Version":…}}, or the
// unwrapped form of releases before 12) to attrs and metrics.
func tasmotaInfo(r *Reading, sub string, p []byte) error {
	obj, err := decodeObject(p)
	if err != nil {
		return err
	}
	wrapper := "Info" + sub[len("INFO"):]
	if _, ok := lookup(obj, wrapper); ok {
		if obj, err = innerObject(p, wrapper); err != nil {
			return err
		}
	}
	for _, mb := range obj {
		if err := flatten(r, SnakeCase(mb.key), mb.val); err != nil {
			return err
		}
	}
	return nil
}

// Availability implements Sampler: the retained LWT.
func (t Tasmota) Availability(base, device string, online bool) (Message, bool) {
	p := "Offline"
	if online {
		p = "Online"
	}
	return Message{Topic: t.fullTopic().sampleTopic(base, "tele", device, "LWT"), Payload: []byte(p), Retained: true}, true
}

// Sample implements Sampler: a metering plug with an AM2301 probe, as its
// TelePeriod sends them (SENSOR, then STATE).
func (t Tasmota) Sample(base, device string, now time.Time, rnd *rand.Rand) []Message {
	ts := now.UTC().Format("2006-01-02T15:04:05")
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	temp := round1(18 + rnd.Float64()*8)
	hum := round1(35 + rnd.Float64()*30)
	on := rnd.IntN(4) != 0
	power := 0.0
	if on {
		power = float64(5 + rnd.IntN(1500))
	}
	voltage := float64(225 + rnd.IntN(11))
	current := round3(power / voltage)
	days := now.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	total := round3(max(days, 0) * 1.2 * usageScale(device))
	sensor := `{"Time":"` + ts + `","AM2301":{"Temperature":` + num(temp) + `,"Humidity":` + num(hum) +
		`,"DewPoint":` + num(round1(temp-(100-hum)/5)) + `},"ENERGY":{"TotalStartTime":"2024-01-01T00:00:00","Total":` +
		num(total) + `,"Yesterday":` + num(round3(1+rnd.Float64())) + `,"Today":` + num(round3(rnd.Float64())) +
		`,"Period":` + num(float64(rnd.IntN(10))) + `,"Power":` + num(power) + `,"ApparentPower":` + num(power) +
		`,"ReactivePower":0,"Factor":1.00,"Voltage":` + num(voltage) + `,"Current":` + num(current) + `},"TempUnit":"C"}`
	uptime := int(now.Unix() % (30 * 86400))
	state := "OFF"
	if on {
		state = "ON"
	}
	quality := 20 + rnd.IntN(81)
	stateJSON := `{"Time":"` + ts + `","Uptime":"` + fmt.Sprintf("%dT%02d:%02d:%02d", uptime/86400, uptime%86400/3600, uptime%3600/60, uptime%60) +
		`","UptimeSec":` + strconv.Itoa(uptime) + `,"Heap":` + strconv.Itoa(20+rnd.IntN(10)) +
		`,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"` + state +
		`","Wifi":{"AP":1,"SSId":"mqlive","BSSId":"AA:BB:CC:DD:EE:FF","Channel":6,"Mode":"11n","RSSI":` +
		strconv.Itoa(quality) + `,"Signal":` + strconv.Itoa(quality/2-100) + `,"LinkCount":1,"Downtime":"0T00:00:03"}}`
	return []Message{
		{Topic: t.fullTopic().sampleTopic(base, "tele", device, "SENSOR"), Payload: []byte(sensor), ReceivedAt: now},
		{Topic: t.fullTopic().sampleTopic(base, "tele", device, "STATE"), Payload: []byte(stateJSON), ReceivedAt: now},
	}
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

var _ Commander = Tasmota{}

// tasmotaCommands are the commands a dashboard may send
// (https://tasmota.github.io/docs/Commands/): relay and light control and
// status queries. Configuration, firmware and Backlog commands are not
// reachable from a browser.
var tasmotaCommands = map[string]bool{
	"Power": true, "Dimmer": true, "CT": true, "Color": true, "HSBColor": true,
	"White": true, "Fade": true, "Speed": true, "State": true, "Status": true,
}

// Command implements Commander: cmnd/<topic>/<Command> (in the source's
// FullTopic, with %prefix% cmnd) with the argument as text (https://tasmota.github.io/docs/MQTT/#commands-over-mqtt).
//
//	on, off, toggle        cmnd/<topic>/Power  ON|OFF|TOGGLE
//	Power, Power1..Power32 cmnd/<topic>/PowerN args ("ON", "OFF", "TOGGLE", or none to query)
//	Dimmer, CT, Color, HSBColor, White, Fade, Speed, State, Status
//	                       cmnd/<topic>/<name> args (a JSON string or number, or none)
func (t Tasmota) Command(base, device, name string, args []byte) (Message, error) {
	return t.command(base, tasmotaTopic{device: device}, name, args)
}

// CommandWithState implements StateCommander: a FullTopic with %hostname%
// or %id% needs the device's, which its telemetry topics gave as the attrs
// hostname and mac.
func (t Tasmota) CommandWithState(base string, state DeviceState, name string, args []byte) (Message, error) {
	r := state.Reading
	return t.command(base, tasmotaTopic{device: r.Device, hostname: r.Attrs["hostname"], id: r.Attrs["mac"]}, name, args)
}

var _ StateCommander = Tasmota{}

func (t Tasmota) command(base string, tt tasmotaTopic, name string, args []byte) (Message, error) {
	family := t.Family()
	device := tt.device
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	if err := CheckDeviceID(device); err != nil {
		return Message{}, invalidCommand(family, "device: %v", err)
	}
	v, err := commandArgs(family, args)
	if err != nil {
		return Message{}, err
	}
	var payload string
	if state, ok := onOffCommand(name); ok {
		if v != nil {
			return Message{}, invalidCommand(family, "%s takes no args", name)
		}
		name, payload = "Power", state
	} else if payload, err = tasmotaCommandArg(family, name, v); err != nil {
		return Message{}, err
	}
	tt.prefix, tt.sub = "cmnd", name
	topic, ok := t.fullTopic().join(base, tt)
	if !ok {
		return Message{}, invalidCommand(family, "device %q: FullTopic %s needs its hostname and id, not heard yet", device, t.fullTopic().raw)
	}
	return Message{Topic: topic, Payload: []byte(payload)}, nil
}

// tasmotaCommandArg checks a named command and its argument v, and returns
// the payload.
func tasmotaCommandArg(family, name string, v any) (string, error) {
	cmd := name
	if n, ok := strings.CutPrefix(name, "Power"); ok && n != "" {
		if i, err := strconv.Atoi(n); err != nil || i < 1 || i > 32 || n[0] == '0' {
			return "", invalidCommand(family, "unknown command %q", name)
		}
		cmd = "Power"
	}
	if !tasmotaCommands[cmd] {
		return "", invalidCommand(family, "command %q is not allowed", name)
	}
	var payload string
	switch v := v.(type) {
	case nil:
	case string:
		payload = v
	case json.Number:
		payload = string(v)
	default:
		return "", invalidCommand(family, "%s takes a string or number argument", name)
	}
	if strings.ContainsAny(payload, ";\x00") || len(payload) > 128 {
		// ';' chains commands in Tasmota's Backlog syntax.
		return "", invalidCommand(family, "argument of %s is not a single value", name)
	}
	return payload, nil
}
