package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	cfg, err := Config{}.validate()
	require.NoError(t, err)
	require.Equal(t, DefaultURL, cfg.URL)
	require.Equal(t, DefaultDevices, cfg.Devices)
	require.Equal(t, DefaultInterval, cfg.Interval)
	require.NotNil(t, cfg.Logger)

	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"ws url":         {Config{URL: "ws://h:1/mqtt"}, "scheme"},
		"no host":        {Config{URL: "tcp://"}, "no host"},
		"negative count": {Config{Count: -1}, "negative"},
		"churn > 1":      {Config{Churn: 1.5}, "churn"},
		"bad < 0":        {Config{Bad: -0.1}, "bad"},
		"qos 2":          {Config{QoS: 2}, "qos"},
		"interval < 0":   {Config{Interval: -time.Second}, "interval"},
		"devices < 0":    {Config{Devices: -1}, "devices"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.cfg.validate()
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNewRejectsUnknownFamilies(t *testing.T) {
	reg := registry(t)
	_, err := New(Config{Families: []string{"nope"}}, reg)
	require.ErrorContains(t, err, "unknown family")
	_, err = New(Config{Families: []string{"tasmota", "tasmota"}}, reg)
	require.ErrorContains(t, err, "twice")
	_, err = New(Config{Base: map[string]string{"nope": "x"}}, reg)
	require.ErrorContains(t, err, "unknown family")
	_, err = New(Config{Base: map[string]string{"tasmota": "bad/"}}, reg)
	require.Error(t, err)

	s, err := New(Config{Base: map[string]string{"zigbee2mqtt": "z2m/home"}, Devices: 1}, reg)
	require.NoError(t, err)
	for _, d := range s.Devices() {
		if d.Family == "zigbee2mqtt" {
			require.Equal(t, "z2m/home", d.Base)
		}
	}
}
