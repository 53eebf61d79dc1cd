package embedded

import (
	"errors"
	"fmt"
	"net"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqlive/mqlive/devices"
)

// ReservedUser is a username no configured user may take. The bridge once
// connected to its embedded broker under it; it now takes messages inside
// the process (Broker.Subscribe, Broker.Publish) and needs no account, and
// the name stays reserved so that logs and configurations that name it
// keep one meaning. A CONNECT with it is refused like any unknown user's.
const ReservedUser = "mqlive-internal"

// User is a device or application allowed to connect to the embedded
// broker, with what it may publish and subscribe to.
type User struct {
	// Username is sent in CONNECT; required and unique.
	Username string
	// PasswordHash is the bcrypt hash of the password (`mqlive passwd`).
	PasswordHash string
	// Tenant, when set, confines the user to the topics of that tenant's
	// sources (Config.TenantTopics) on top of Publish and Subscribe, so a
	// device of one tenant can never write into another's. Empty: only
	// the filters apply.
	Tenant string
	// Publish and Subscribe are MQTT topic filters; a topic published must
	// match one of Publish, a filter subscribed must lie within one of
	// Subscribe (and so does every message delivered). Empty allows none.
	Publish, Subscribe []string
}

// ValidateUser reports the first problem of u: an empty or reserved
// username, a password hash that is not bcrypt, or a malformed filter.
func ValidateUser(u User) error {
	switch {
	case u.Username == "":
		return errors.New("username is required")
	case u.Username == ReservedUser:
		return fmt.Errorf("username %q is reserved for the bridge", ReservedUser)
	}
	if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
		return fmt.Errorf("password_hash is not a bcrypt hash (make one with `mqlive passwd`): %v", err)
	}
	for _, l := range []struct {
		name    string
		filters []string
	}{{"publish", u.Publish}, {"subscribe", u.Subscribe}} {
		for i, f := range l.filters {
			if err := devices.ValidFilter(f); err != nil {
				return fmt.Errorf("%s[%d]: %v", l.name, i, err)
			}
		}
	}
	return nil
}

// access is the broker's authentication and ACL hook. Without users it
// admits anonymous clients from loopback only (the Mosquitto 2.0 rule; the
// TCP listener is bound to loopback too); with users it admits only them,
// and checks every publish, subscribe and
// delivery against the user's filters and tenant.
type access struct {
	mqtt.HookBase
	users   map[string]*User
	tenants map[string][]string
	refused *prometheus.CounterVec
	denied  *prometheus.CounterVec
}

// dummyHash is compared against for an unknown username, so that a wrong
// name costs as long as a wrong password and does not reveal which names
// exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("mqlive: no such user"), bcrypt.MinCost)

func newAccess(users []User, tenants map[string][]string, reg prometheus.Registerer) (*access, error) {
	a := &access{users: make(map[string]*User, len(users)), tenants: tenants}
	for i := range users {
		u := users[i]
		if err := ValidateUser(u); err != nil {
			return nil, fmt.Errorf("embedded broker: user %q: %w", u.Username, err)
		}
		if _, dup := a.users[u.Username]; dup {
			return nil, fmt.Errorf("embedded broker: user %q is listed twice", u.Username)
		}
		a.users[u.Username] = &u
	}
	a.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mqlive_broker_connect_refused_total",
		Help: "CONNECTs the embedded broker refused, by reason (anonymous, unknown_user, bad_password, will_denied).",
	}, []string{"reason"})
	a.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mqlive_broker_acl_denied_total",
		Help: "Publishes (action publish) and subscriptions or deliveries (action read) the embedded broker's access control refused.",
	}, []string{"action"})
	if reg != nil {
		for _, c := range []prometheus.Collector{a.refused, a.denied} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("embedded broker: metrics: %w", err)
			}
		}
	}
	return a, nil
}

// ID names the hook in mochi's logs.
func (a *access) ID() string { return "mqlive-access" }

// Provides says which mochi events the hook handles.
func (a *access) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// OnConnectAuthenticate admits a configured user with the right password,
// or (without users) an anonymous loopback client.
func (a *access) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	name, pass := pk.Connect.Username, pk.Connect.Password
	if len(a.users) == 0 {
		if isLocal(cl.Net.Conn) {
			return true
		}
		a.refused.WithLabelValues("anonymous").Inc()
		return false
	}
	u, ok := a.users[string(name)]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash, pass)
		reason := "unknown_user"
		if len(name) == 0 {
			reason = "anonymous"
		}
		a.refused.WithLabelValues(reason).Inc()
		return false
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), pass) != nil {
		a.refused.WithLabelValues("bad_password").Inc()
		return false
	}
	// mochi publishes a will without an ACL check, so a will on a topic
	// the user may not write would be a way around it.
	if pk.Connect.WillFlag && !a.allowed(u, pk.Connect.WillTopic, true) {
		a.refused.WithLabelValues("will_denied").Inc()
		return false
	}
	return true
}

// OnACLCheck decides a publish (write) and, for reads, both a SUBSCRIBE's
// filter and each delivery's topic: a session taken over by another user
// keeps its subscriptions, but only what the new user may read arrives.
func (a *access) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if len(a.users) == 0 {
		return true // only loopback clients are connected
	}
	u := a.users[string(cl.Properties.Username)]
	if u != nil && a.allowed(u, topic, write) {
		return true
	}
	// mochi asks the same question for a SUBSCRIBE's filter and for a
	// delivery's topic, so both count as "read".
	action := "publish"
	if !write {
		action = "read"
	}
	a.denied.WithLabelValues(action).Inc()
	return false
}

// allowed reports whether u may publish (write) to topic, or subscribe to
// the filter (or receive the topic) when !write.
func (a *access) allowed(u *User, topic string, write bool) bool {
	if !write {
		topic = unshare(topic)
	}
	filters := u.Subscribe
	if write {
		filters = u.Publish
	}
	if !coveredByAny(filters, topic) {
		return false
	}
	return u.Tenant == "" || coveredByAny(a.tenants[u.Tenant], topic)
}

func coveredByAny(filters []string, sub string) bool {
	for _, f := range filters {
		if covers(f, sub) {
			return true
		}
	}
	return false
}

// unshare strips a shared subscription's "$share/<group>/" prefix.
func unshare(filter string) string {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			return f
		}
	}
	return filter
}

// covers reports whether every topic that sub matches is matched by filter
// too; sub may be a topic name or a filter. A wildcard first level of
// filter never covers a '$' topic [MQTT-4.7.2-1].
func covers(filter, sub string) bool {
	if filter == "" || sub == "" {
		return false
	}
	if strings.HasPrefix(sub, "$") && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		sl, srest, smore := strings.Cut(sub, "/")
		switch {
		case fl == "#":
			return true
		case sl == "#":
			return false // only '#' covers '#'
		case fl == "+":
		case fl != sl || sl == "+":
			return false
		}
		switch {
		case !fmore && !smore:
			return true
		case !smore:
			// "a/#" also matches "a" [MQTT-4.7.1-2].
			return frest == "#"
		case !fmore:
			return false
		}
		filter, sub = frest, srest
	}
}

// isLocal reports whether c comes straight from this machine: a loopback
// peer, and not a relayed connection (see Relayed).
func isLocal(c net.Conn) bool {
	if c == nil {
		return false
	}
	if r, ok := c.(Relayed); ok && r.Relayed() {
		return false
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Relayed is implemented by connections handed to ServeConn that may carry
// a client from elsewhere although their peer is loopback: a WebSocket a
// reverse proxy on this machine forwarded, or one a web page of another
// origin opened in a local browser. Such a connection is not admitted
// anonymously.
type Relayed interface{ Relayed() bool }
