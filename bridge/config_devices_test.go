package bridge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSourceDevicesAndFullTopicConfig loads the source options of families
// whose devices own a topic prefix (devices) and of Tasmota (full_topic,
// state_text) from YAML as a user writes them, and validates them.
func TestSourceDevicesAndFullTopicConfig(t *testing.T) {
	path := writeConfig(t, `
auth: { jwt_secret: "`+testSecret+`" }
sources:
  - { family: zigbee2mqtt, tenant: acme }
  - { family: esphome, tenant: acme, devices: ["c3-debug", "esp32-dht22"] }
  - { family: shelly, tenant: acme, devices: ["shellyplus1pm-a8032ab12345"] }
  - family: tasmota
    tenant: acme
    full_topic: "tasmota/%topic%/%prefix%/"
    state_text: ["AUS", "AN", "UMSCHALTEN", "HALTEN"]
`)
	c, err := Load([]string{"--config", path}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"c3-debug", "esp32-dht22"}, c.Sources[1].Devices)
	require.Equal(t, "tasmota/%topic%/%prefix%/", c.Sources[3].FullTopic)
	require.Equal(t, []string{"AUS", "AN", "UMSCHALTEN", "HALTEN"}, c.Sources[3].StateText)
	require.NoError(t, c.Validate())

	// Tasmota devices own a root prefix when %topic% comes first.
	c = validConfig()
	c.Sources = []SourceConfig{{Family: "tasmota", FullTopic: "%topic%/%prefix%/", Devices: []string{"kitchen/plug", "tasmota_3D5E26"}}}
	require.NoError(t, c.Validate())

	// Two device lists of one family in one tenant are two sources.
	c = validConfig()
	c.Sources = []SourceConfig{{Family: "esphome", Devices: []string{"a"}}, {Family: "esphome", Devices: []string{"b"}}}
	require.NoError(t, c.Validate())
}

func TestSourceDevicesAndFullTopicRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		src  []SourceConfig
		want string
	}{
		"devices on a family without root prefixes": {[]SourceConfig{{Family: "zigbee2mqtt", Devices: []string{"lamp"}}},
			`sources[0].devices: family zigbee2mqtt does not take devices`},
		"devices on tasmota's default full_topic": {[]SourceConfig{{Family: "tasmota", Devices: []string{"plug"}}},
			`sources[0].devices: device "plug": with full_topic "%prefix%/%topic%/" a device owns no root prefix`},
		"wildcard device": {[]SourceConfig{{Family: "esphome", Devices: []string{"node/+"}}}, `sources[0].devices: device "node/+"`},
		"empty device":    {[]SourceConfig{{Family: "shelly", Devices: []string{""}}}, `sources[0].devices: device ""`},
		"placeholder":     {[]SourceConfig{{Family: "esphome", Devices: []string{"%topic%"}}}, `unexpanded placeholder`},
		"control char":    {[]SourceConfig{{Family: "esphome", Devices: []string{"a\nb"}}}, `control character`},
		"esphome levels":  {[]SourceConfig{{Family: "esphome", Devices: []string{"home/node"}}}, `set base "home" and list "node"`},
		"twice":           {[]SourceConfig{{Family: "esphome", Devices: []string{"a", "a"}}}, `sources[0].devices: device "a" is listed twice`},
		"same list twice": {[]SourceConfig{{Family: "esphome", Devices: []string{"a"}}, {Family: "esphome", Devices: []string{"a"}}},
			`sources[1]: repeats sources[0]`},
		"full_topic elsewhere":  {[]SourceConfig{{Family: "esphome", FullTopic: "%prefix%/%topic%/"}}, `sources[0].full_topic: only family tasmota takes full_topic`},
		"state_text elsewhere":  {[]SourceConfig{{Family: "shelly", StateText: []string{"AUS"}}}, `sources[0].full_topic: only family tasmota`},
		"full_topic no prefix":  {[]SourceConfig{{Family: "tasmota", FullTopic: "home/%topic%/"}}, `must contain both %prefix% and %topic%`},
		"full_topic token part": {[]SourceConfig{{Family: "tasmota", FullTopic: "%prefix%/x-%topic%/"}}, `as a whole topic level`},
		"full_topic wildcard":   {[]SourceConfig{{Family: "tasmota", FullTopic: "%prefix%/+/%topic%/"}}, `wildcards`},
		"state_text five":       {[]SourceConfig{{Family: "tasmota", StateText: []string{"a", "b", "c", "d", "e"}}}, `state_text has 5 entries`},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.Sources = tc.src
			err := c.Validate()
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "invalid config:\n  "), err.Error())
		})
	}
}
