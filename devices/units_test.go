package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"LoadAvg":      "load_avg",
		"UptimeSec":    "uptime_sec",
		"BSSId":        "bss_id",
		"APMac":        "ap_mac",
		"PM2.5":        "pm2_5",
		"DS18B20":      "ds18b20",
		"color_temp":   "color_temp",
		"temperature":  "temperature",
		"POWER1":       "power1",
		"eCO2":         "e_co2",
		"HTTPServer":   "http_server",
		"a--b  c":      "a_b_c",
		"_x_":          "x",
		"__":           "_",
		"ümlaut":       "mlaut",
		"CF2.5":        "cf2_5",
		"friendlyName": "friendly_name",
	} {
		require.Equal(t, want, devices.SnakeCase(in), in)
	}
}

func TestSnakeCaseAllocatesNothingForSnake(t *testing.T) {
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = devices.SnakeCase("linkquality_2") }))
}
