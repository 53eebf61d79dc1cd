package devices

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

// SnakeCase converts a field name to the lower-case snake_case READINGS.md
// uses for pass-through metrics: "LoadAvg" → "load_avg", "UptimeSec" →
// "uptime_sec", "BSSId" → "bss_id", "PM2.5" → "pm2_5", "DS18B20" →
// "ds18b20", "color_temp" → "color_temp". Runs of anything but ASCII letters
// and digits become one '_'; leading and trailing '_' are dropped. A name
// with nothing left becomes "_".
func SnakeCase(s string) string {
	if isSnake(s) {
		return s // the common case for already snake_case families: no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	pendingSep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		isUpper := c >= 'A' && c <= 'Z'
		isAlnum := isUpper || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !isAlnum {
			pendingSep = b.Len() > 0
			continue
		}
		if isUpper && i > 0 && b.Len() > 0 {
			prev := s[i-1]
			prevLower := prev >= 'a' && prev <= 'z'
			prevUpper := prev >= 'A' && prev <= 'Z'
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			// "loadAvg": lower→Upper; "BSSId": the last capital of an
			// acronym starts the next word.
			if prevLower || (prevUpper && nextLower) {
				pendingSep = true
			}
		}
		if pendingSep {
			b.WriteByte('_')
			pendingSep = false
		}
		if isUpper {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func isSnake(s string) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '_' && s[i-1] != '_')) {
			return false
		}
	}
	return true
}

// roundConv rounds a converted value to 6 decimals so that 70.7 °F reads
// 21.5 °C rather than 21.500000000000004. Huge values are left alone:
// scaling them would overflow.
func roundConv(x float64) float64 {
	if math.Abs(x) > 1e9 {
		return x
	}
	return math.Round(x*1e6) / 1e6
}

func fahrenheitToCelsius(f float64) float64 { return roundConv((f - 32) * 5 / 9) }

// toCanonical converts v from unit to the canonical unit of READINGS.md.
// ok is false for a unit this package does not know; units are compared
// case-insensitively.
func toCanonical(v float64, unit string) (float64, bool) {
	switch strings.ToLower(unit) {
	case "", "c", "°c", "hpa", "mbar", "v", "a", "w", "kwh", "lx", "lux", "%", "ppm", "ppb", "s", "m", "dbm":
		return v, true
	case "f", "°f":
		return fahrenheitToCelsius(v), true
	case "k":
		return roundConv(v - 273.15), true
	case "pa":
		return roundConv(v / 100), true
	case "kpa":
		return roundConv(v * 10), true
	case "mmhg":
		return roundConv(v * 1.333223684), true
	case "inhg":
		return roundConv(v * 33.8638866667), true
	case "mv", "ma", "wh":
		return roundConv(v / 1000), true
	case "kw":
		return roundConv(v * 1000), true
	case "ms":
		return roundConv(v / 1000), true
	}
	return 0, false
}

// parseOnOff reads the binary states devices send as text. Only the
// spellings the families document are accepted.
func parseOnOff(s string) (on, ok bool) {
	switch s {
	case "ON", "on", "On", "true", "TRUE":
		return true, true
	case "OFF", "off", "Off", "false", "FALSE":
		return false, true
	}
	return false, false
}

// Device clocks before their first time sync report 1970 (Tasmota) or
// garbage; such a time is worse than the bridge's receive time.
var (
	minDeviceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDeviceTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// localLayouts are the zone-less layouts devices use; they are read as UTC.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006.01.02 15:04:05", // Tasmota before 6.x
}

// parseDeviceTime reads a device timestamp: RFC 3339, a zone-less ISO 8601
// time (taken as UTC), or a Unix epoch number in seconds or, when above
// 1e11 (year 5138 in seconds), in milliseconds. ok is false for anything
// else or for a time outside 2000..2200.
func parseDeviceTime(v any) (time.Time, bool) {
	var t time.Time
	switch v := v.(type) {
	case string:
		if len(v) > 64 {
			return time.Time{}, false
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			for _, layout := range localLayouts {
				if t, err = time.Parse(layout, v); err == nil {
					break
				}
			}
			if err != nil {
				return time.Time{}, false
			}
		}
	case json.Number:
		f, err := parseNumber(v)
		if err != nil || f <= 0 || f > 1e16 {
			return time.Time{}, false
		}
		if f > 1e11 {
			t = time.UnixMilli(int64(f))
		} else {
			sec, frac := math.Modf(f)
			t = time.Unix(int64(sec), int64(frac*1e9))
		}
	default:
		return time.Time{}, false
	}
	if t.Before(minDeviceTime) || t.After(maxDeviceTime) {
		return time.Time{}, false
	}
	return t.UTC(), true
}
