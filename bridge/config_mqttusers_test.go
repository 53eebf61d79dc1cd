package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestValidateMQTTUsers(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	good := MQTTUser{Username: "dev", PasswordHash: string(h), Tenant: "acme", Publish: []string{"acme/#"}}
	c := DefaultConfig()
	c.Auth.JWTSecret = "0123456789abcdef0123456789abcdef"
	c.MQTT.Users = []MQTTUser{good}
	require.NoError(t, c.Validate())

	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"with mqtt.url":  {func(c *Config) { c.MQTT.URL = "tcp://broker:1883" }, "mqtt.users: configure the embedded broker"},
		"duplicate":      {func(c *Config) { c.MQTT.Users = append(c.MQTT.Users, good) }, `mqtt.users[1].username: "dev" is listed twice`},
		"bad tenant":     {func(c *Config) { c.MQTT.Users[0].Tenant = "Acme Corp" }, "mqtt.users[0].tenant"},
		"plain password": {func(c *Config) { c.MQTT.Users[0].PasswordHash = "pw" }, "mqtt.users[0]: password_hash is not a bcrypt hash"},
		"bad filter":     {func(c *Config) { c.MQTT.Users[0].Subscribe = []string{"a/#/b"} }, "mqtt.users[0]: subscribe[0]"},
		"reserved name":  {func(c *Config) { c.MQTT.Users[0].Username = "mqlive-internal" }, "reserved"},
	} {
		c := DefaultConfig()
		c.Auth.JWTSecret = "0123456789abcdef0123456789abcdef"
		c.MQTT.Users = []MQTTUser{good}
		tc.mutate(&c)
		err := c.Validate()
		require.Error(t, err, name)
		require.Contains(t, err.Error(), tc.want, name)
	}
}
