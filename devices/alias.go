package devices

import (
	"strconv"
	"strings"
)

// Vendor alias tables: keys that a family's devices (or the payload
// formatters and firmwares around them) commonly use for a READINGS.md
// quantity in its canonical unit, so that one dashboard shows them under
// one name. A key is here only when its meaning and unit are certain; one
// whose unit varies between vendors (vbat: V or mV; batt: % or V) is not,
// and passes through under its own snake_case name. Keys are the
// snake_case form of the vendor key (SnakeCase), so "BatV" is "bat_v".
// devices/README.md lists every table; keep them in step.
var (
	// ttnAliases: The Things Stack decoded_payload keys, from the payload
	// formatters of The Things Stack device repository
	// (https://github.com/TheThingsNetwork/lorawan-devices) and generic
	// formatters.
	ttnAliases = map[string]string{
		"temp":              "temperature",
		"rh":                "humidity",
		"relative_humidity": "humidity",
		"battery_level":     "battery",
		"battery_voltage":   "voltage",
		"lux":               "illuminance",
		"pm2_5":             "pm25",
		"lat":               "latitude",
		"lon":               "longitude",
		"lng":               "longitude",
		"occupied":          "occupancy",
		// Dragino (vendor/dragino in the device repository; LHT65,
		// LHT52, LSN50 user manuals): TempC_SHT and Hum_SHT are the
		// built-in SHT sensor in °C and %RH, BatV the battery in V,
		// TempC_DS the external DS18B20 probe (a second instance),
		// ILL_lx the illuminance probe in lx.
		"temp_c_sht": "temperature",
		"hum_sht":    "humidity",
		"bat_v":      "voltage",
		"temp_c_ds":  "ds18b20.temperature",
		"ill_lx":     "illuminance",
	}

	// cayenneQuantities: CayenneLPP types as The Things Stack's built-in
	// CayenneLPP formatter names them (<quantity>_<channel>), in the units
	// the format fixes (IPSO object definitions: °C, %RH, hPa, lx;
	// presence 0/1). Other types (digital_in, analog_in, accelerometer,
	// gyrometer, …) have no certain canonical meaning and keep their key.
	cayenneQuantities = map[string]string{
		"temperature":         "temperature",
		"relative_humidity":   "humidity",
		"barometric_pressure": "pressure",
		"luminosity":          "illuminance",
		"presence":            "occupancy",
	}

	// tasmotaAliases: fields of Tasmota's tele/STATE. Vcc is the ESP's
	// supply voltage in V (builds with USE_ADC_VCC;
	// https://tasmota.github.io/docs/ADC/).
	tasmotaAliases = map[string]string{
		"vcc": "voltage",
	}

	// sparkplugAliases: Sparkplug B metric names (the last level of a
	// folder path, snake_cased) that name a canonical quantity.
	sparkplugAliases = map[string]string{
		"supply_voltage":    "voltage",
		"battery_voltage":   "voltage",
		"battery_level":     "battery",
		"relative_humidity": "humidity",
		"occupied":          "occupancy",
	}
)

// aliasTables maps a family id to its vendor alias table.
var aliasTables = map[string]map[string]string{
	"ttn":         ttnAliases,
	"tasmota":     tasmotaAliases,
	"sparkplug_b": sparkplugAliases,
}

// Alias returns the canonical name a family's vendor key stands for, or
// name unchanged when the family's alias table has no entry for it. name
// is the snake_case key; for a dotted name ("sensors.supply_voltage") the
// last level is looked up and the instance prefix kept.
func Alias(family, name string) string {
	table := aliasTables[family]
	if table == nil {
		return name
	}
	prefix, last := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		prefix, last = name[:i+1], name[i+1:]
	}
	if canon, ok := table[last]; ok {
		return prefix + canon
	}
	return name
}

// cayenneKey splits a CayenneLPP key "<type>_<channel>" (channel 0–255)
// whose type has a canonical quantity; ok is false for anything else.
func cayenneKey(name string) (quantity string, channel int, ok bool) {
	i := strings.LastIndexByte(name, '_')
	if i <= 0 || i == len(name)-1 || len(name)-i-1 > 3 {
		return "", 0, false
	}
	q, isLPP := cayenneQuantities[name[:i]]
	if !isLPP {
		return "", 0, false
	}
	ch, err := strconv.Atoi(name[i+1:])
	if err != nil || ch < 0 || ch > 255 || name[i+1] == '+' || name[i+1] == '-' {
		return "", 0, false
	}
	return q, ch, true
}
