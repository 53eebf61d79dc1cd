package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{URL: "tcp://127.0.0.1:1883", Filters: []string{"zigbee2mqtt/#"}}
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"valid":            {func(*Config) {}, ""},
		"ws":               {func(c *Config) { c.URL = "ws://broker:8080/mqtt" }, ""},
		"ssl":              {func(c *Config) { c.URL = "ssl://broker:8883" }, ""},
		"no url":           {func(c *Config) { c.URL = "" }, "URL is required"},
		"bad scheme":       {func(c *Config) { c.URL = "http://x:1" }, "scheme"},
		"no host":          {func(c *Config) { c.URL = "tcp://" }, "no host"},
		"no filters":       {func(c *Config) { c.Filters = nil }, "at least one"},
		"empty filter":     {func(c *Config) { c.Filters = []string{""} }, "empty"},
		"hash not last":    {func(c *Config) { c.Filters = []string{"a/#/b"} }, "'#'"},
		"partial hash":     {func(c *Config) { c.Filters = []string{"a/b#"} }, "'#'"},
		"partial plus":     {func(c *Config) { c.Filters = []string{"a/b+/c"} }, "'+'"},
		"plus ok":          {func(c *Config) { c.Filters = []string{"+/tele/+/SENSOR", "#"} }, ""},
		"bad shared group": {func(c *Config) { c.SharedGroup = "a/b" }, "shared group"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tc.mut(&cfg)
			_, err := New(cfg, func(devices.Message) {})
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := New(ok, nil)
	require.Error(t, err)
}

func TestConfigDefaultsAndSharedFilters(t *testing.T) {
	cfg, err := Config{URL: "tcp://h:1", Filters: []string{"a/#", "b/+"}, SharedGroup: "g", ClientID: "node"}.validate()
	require.NoError(t, err)
	require.False(t, cfg.generated)
	require.Equal(t, DefaultConnectTimeout, cfg.ConnectTimeout)
	require.Equal(t, DefaultKeepAlive, cfg.KeepAlive)
	require.Equal(t, DefaultMaxReconnectInterval, cfg.MaxReconnectInterval)
	require.NotNil(t, cfg.Logger)
	require.Equal(t, map[string]byte{"$share/g/a/#": 1, "$share/g/b/+": 1}, cfg.subscriptionFilters())
}
