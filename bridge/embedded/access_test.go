package embedded

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/mqlive/mqlive/devices"
)

func textLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func hash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

// startWith runs a broker with cfg on a free port until the test ends.
func startWith(t *testing.T, cfg Config) *Broker {
	t.Helper()
	cfg.Logger = quietLogger()
	b, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("broker Run did not return after cancel")
		}
	})
	return b
}

// dial connects a paho client with credentials and reports the CONNECT
// error (nil when accepted).
func dial(t *testing.T, url, id, user, pass string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		// One attempt: without a version paho retries a refused CONNECT as MQTT 3.1.
		SetProtocolVersion(4)
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "connect timed out")
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(100) })
	}
	return c, tok.Error()
}

func TestLoopbackOnlyWithoutUsers(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		b, err := New(Config{Listen: addr, Logger: quietLogger()})
		require.NoError(t, err)
		host, _, _ := net.SplitHostPort(b.Addr())
		require.Equal(t, "127.0.0.1", host, "listen %q without users", addr)
		require.NoError(t, b.Close())
	}
	// With users the broker binds what it was asked for.
	b, err := New(Config{Listen: ":0", Logger: quietLogger(), Users: []User{{Username: "d", PasswordHash: hash(t, "pw")}}})
	require.NoError(t, err)
	host, _, _ := net.SplitHostPort(b.Addr())
	require.True(t, net.ParseIP(host).IsUnspecified(), b.Addr())
	require.NoError(t, b.Close())
}

func TestLoopbackOnlyLogsOneLine(t *testing.T) {
	var buf strings.Builder
	b, err := New(Config{Listen: ":0", Logger: textLogger(&buf)})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.Equal(t, 1, strings.Count(buf.String(), "loopback only"), buf.String())
	require.Contains(t, buf.String(), "mqtt.users")
	require.Contains(t, buf.String(), "mqlive passwd")
}

func TestAccessControl(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := startWith(t, Config{
		Listen: "127.0.0.1:0", Registerer: reg,
		TenantTopics: map[string][]string{"acme": {"acme/#"}, "globex": {"globex/#"}},
		Users: []User{
			// A device of acme whose filters are (wrongly) wide: the tenant
			// still confines it.
			{Username: "acme-dev", PasswordHash: hash(t, "s3cret"), Tenant: "acme", Publish: []string{"#"}, Subscribe: []string{"acme/cmnd/dev1/#"}},
			{Username: "watcher", PasswordHash: hash(t, "w"), Subscribe: []string{"globex/#"}},
		},
	})
	// The process itself (the bridge's ingest) sees every topic, past
	// the access hook.
	got := make(chan string, 16)
	require.NoError(t, b.Subscribe([]string{"#"}, func(topic string, _ []byte, _ bool) { got <- topic }))

	_, err := dial(t, b.URL(), "anon", "", "")
	require.Error(t, err, "anonymous client admitted although users are configured")
	_, err = dial(t, b.URL(), "wrong", "acme-dev", "nope")
	require.Error(t, err, "wrong password admitted")
	_, err = dial(t, b.URL(), "ghost", "ghost", "s3cret")
	require.Error(t, err, "unknown user admitted")
	_, err = dial(t, b.URL(), "spoof", ReservedUser, "guess")
	require.Error(t, err, "the reserved name admitted")
	require.Equal(t, 1.0, testutil.ToFloat64(b.access.refused.WithLabelValues("anonymous")))
	require.Equal(t, 1.0, testutil.ToFloat64(b.access.refused.WithLabelValues("bad_password")))
	require.Equal(t, 2.0, testutil.ToFloat64(b.access.refused.WithLabelValues("unknown_user")))

	dev, err := dial(t, b.URL(), "dev1", "acme-dev", "s3cret")
	require.NoError(t, err)
	// QoS 0, so that a denied publish does not disconnect the client.
	require.True(t, dev.Publish("globex/tele/x/SENSOR", 0, false, "intrusion").WaitTimeout(5*time.Second))
	require.True(t, dev.Publish("acme/tele/dev1/SENSOR", 0, false, "ok").WaitTimeout(5*time.Second))
	select {
	case topic := <-got:
		require.Equal(t, "acme/tele/dev1/SENSOR", topic, "a publish outside the tenant was delivered")
	case <-time.After(5 * time.Second):
		t.Fatal("the allowed publish never arrived")
	}
	require.Equal(t, 1.0, testutil.ToFloat64(b.access.denied.WithLabelValues("publish")))

	// A subscription outside the filters is refused (SUBACK 0x80) and
	// gets nothing; one inside gets the device's commands.
	devGot := make(chan string, 16)
	tok := dev.Subscribe("globex/#", 0, func(_ paho.Client, m paho.Message) { devGot <- m.Topic() })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.Equal(t, byte(0x80), tok.(*paho.SubscribeToken).Result()["globex/#"])
	tok = dev.Subscribe("acme/cmnd/dev1/+", 0, func(_ paho.Client, m paho.Message) { devGot <- m.Topic() })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	require.Equal(t, byte(0), tok.(*paho.SubscribeToken).Result()["acme/cmnd/dev1/+"])
	require.NoError(t, b.Publish("globex/cmnd/x/POWER", []byte("ON"), 0, false))
	require.NoError(t, b.Publish("acme/cmnd/dev1/POWER", []byte("ON"), 0, false))
	select {
	case topic := <-devGot:
		require.Equal(t, "acme/cmnd/dev1/POWER", topic)
	case <-time.After(5 * time.Second):
		t.Fatal("the device's command never arrived")
	}
	require.Equal(t, 1.0, testutil.ToFloat64(b.access.denied.WithLabelValues("read")))

	// A user without a tenant is bound by its filters only.
	w, err := dial(t, b.URL(), "watcher", "watcher", "w")
	require.NoError(t, err)
	tok = w.Subscribe("acme/#", 0, func(paho.Client, paho.Message) {})
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.Equal(t, byte(0x80), tok.(*paho.SubscribeToken).Result()["acme/#"])
	select {
	case topic := <-devGot:
		t.Fatalf("unexpected delivery %s", topic)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWillOutsideFiltersRefused(t *testing.T) {
	b := startWith(t, Config{
		Listen: "127.0.0.1:0", TenantTopics: map[string][]string{"acme": {"acme/#"}},
		Users: []User{{Username: "d", PasswordHash: hash(t, "p"), Tenant: "acme", Publish: []string{"acme/#"}}},
	})
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("w").SetUsername("d").SetPassword("p").
		SetAutoReconnect(false).SetWill("globex/tele/x/LWT", "Offline", 0, false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.Error(t, tok.Error(), "a will outside the user's topics was accepted")
}

func TestValidateUser(t *testing.T) {
	good := User{Username: "d", PasswordHash: hash(t, "p"), Publish: []string{"a/+/b", "#"}}
	require.NoError(t, ValidateUser(good))
	for name, mutate := range map[string]func(*User){
		"no username":    func(u *User) { u.Username = "" },
		"reserved":       func(u *User) { u.Username = ReservedUser },
		"plain password": func(u *User) { u.PasswordHash = "hunter2" },
		"bad filter":     func(u *User) { u.Subscribe = []string{"a/#/b"} },
		"partial plus":   func(u *User) { u.Publish = []string{"a+/b"} },
	} {
		u := good
		mutate(&u)
		require.Error(t, ValidateUser(u), name)
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		filter, sub string
		want        bool
	}{
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/#", true},
		{"a/#", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a/+", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/b", "a/+", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
		{"", "a", false},
		{"a", "", false},
	} {
		require.Equal(t, c.want, covers(c.filter, c.sub), "covers(%q, %q)", c.filter, c.sub)
	}
	require.Equal(t, "a/b", unshare("$share/g/a/b"))
	require.Equal(t, "$share/g", unshare("$share/g"))
}

func valid(f string) bool { return devices.ValidFilter(f) == nil }

// FuzzCovers checks covers against a brute-force reading of the MQTT
// matching rules on topic names: whenever filter covers sub and sub matches
// a topic, filter matches it too; and a valid filter covers itself.
func FuzzCovers(f *testing.F) {
	for _, s := range [][3]string{{"a/#", "a/+", "a/b"}, {"+/+", "x/y", "x/y"}, {"#", "$SYS/#", "$SYS/a"}, {"a/+/c", "a/b/c", "a/b/c"}, {"a//", "+/+/", "a//"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, filter, sub, topic string) {
		if valid(filter) && !covers(filter, filter) {
			t.Fatalf("%q does not cover itself", filter)
		}
		if strings.ContainsAny(topic, "+#") || topic == "" || !valid(filter) || !valid(sub) {
			return
		}
		if covers(filter, sub) && covers(sub, topic) && !covers(filter, topic) {
			t.Fatalf("%q covers %q which matches %q, but %q does not match it", filter, sub, topic, filter)
		}
	})
}
