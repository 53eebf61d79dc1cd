package bridge

import (
	"fmt"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/embedded"
)

// MQTTUser is a device or application allowed to connect to the embedded
// broker (README "Broker access control").
type MQTTUser struct {
	// Username sent in CONNECT; required, unique, not "mqlive-internal".
	Username string `yaml:"username"`
	// PasswordHash is the bcrypt hash of the password; make one with
	// `mqlive passwd`. Required.
	PasswordHash string `yaml:"password_hash"`
	// Tenant, when set, confines the user to the topics of that tenant's
	// sources, on top of Publish and Subscribe; empty: only the filters
	// apply (for an operator's tool, not a device).
	Tenant string `yaml:"tenant"`
	// Publish lists the topic filters the user may publish to; empty
	// allows none.
	Publish []string `yaml:"publish"`
	// Subscribe lists the topic filters the user may subscribe within (a
	// device's command topics); empty allows none.
	Subscribe []string `yaml:"subscribe"`
}

// validateMQTTUsers checks mqtt.users: they configure the embedded broker
// only, and each must be usable.
func (c *Config) validateMQTTUsers(v *validator) {
	if len(c.MQTT.Users) > 0 && c.MQTT.URL != "" {
		v.addf("mqtt.users", "configure the embedded broker, which does not run with mqtt.url set; give these devices accounts on the broker at mqtt.url instead")
	}
	seen := map[string]bool{}
	for i, u := range c.MQTT.Users {
		key := fmt.Sprintf("mqtt.users[%d]", i)
		if err := embedded.ValidateUser(u.embedded()); err != nil {
			v.addf(key, "%v", err)
		}
		if u.Tenant != "" && !auth.ValidTenant(u.Tenant) {
			v.addf(key+".tenant", "%q is not 1-64 characters of [a-z0-9_-]", u.Tenant)
		}
		if seen[u.Username] {
			v.addf(key+".username", "%q is listed twice", u.Username)
		}
		seen[u.Username] = true
	}
}

func (u MQTTUser) embedded() embedded.User {
	return embedded.User{Username: u.Username, PasswordHash: u.PasswordHash, Tenant: u.Tenant, Publish: u.Publish, Subscribe: u.Subscribe}
}

// brokerUsers converts mqtt.users for the embedded broker.
func brokerUsers(us []MQTTUser) []embedded.User {
	out := make([]embedded.User, len(us))
	for i, u := range us {
		out[i] = u.embedded()
	}
	return out
}
