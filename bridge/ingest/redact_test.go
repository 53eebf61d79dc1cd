package ingest

import (
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

const secretPW = "s3cret-Pw"

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tcp://broker:1883", "tcp://broker:1883"},
		{"tcp://user@broker:1883", "tcp://user@broker:1883"},
		{"tcp://user:" + secretPW + "@broker:1883", "tcp://user:REDACTED@broker:1883"},
		{"wss://user:p%40ss@broker/mqtt", "wss://user:REDACTED@broker/mqtt"},
		// url.Parse refuses these; the password goes all the same.
		{"tcp://user:" + secretPW + "@broker:port", "tcp://user:REDACTED@broker:port"},
		{"tcp://user:pa/ss@broker:1883", "tcp://user:REDACTED@broker:1883"},
	} {
		require.Equal(t, c.want, RedactURL(c.in), c.in)
	}
	require.Equal(t, "dial user:REDACTED@x and REDACTED", Redact("dial user:p%40ss@x and p@ss", "tcp://user:p%40ss@x"))
}

// TestPasswordNeverLogged: the password in the broker URL appears in no
// log line of the client, connected or not, nor in a config error.
func TestPasswordNeverLogged(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A broker that is not there: the client logs its retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := newClient(t, Config{URL: "tcp://mqlive:" + secretPW + "@" + dead, Filters: []string{"a/#"}, Logger: log}, func(devices.Message) {})
	stop := runClient(t, c)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "connect failed") }, waitFor, pollInt)
	stop()

	// A broker that is: connected, subscribed.
	b := startEmbedded(t)
	url := strings.Replace(b.URL(), "tcp://", "tcp://mqlive:"+secretPW+"@", 1)
	c = newClient(t, Config{URL: url, Filters: []string{"a/#"}, Logger: log}, func(devices.Message) {})
	stop = runClient(t, c)
	require.Eventually(t, c.Connected, waitFor, pollInt)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "mqtt subscribed") }, waitFor, pollInt)
	stop()

	logged := out.String()
	require.Contains(t, logged, "mqlive:REDACTED@")
	require.NotContains(t, logged, secretPW)

	for _, bad := range []string{"tcp://u:" + secretPW + "@host:port", "ftp://u:" + secretPW + "@host", "tcp://u:" + secretPW + "@"} {
		_, err := New(Config{URL: bad, Filters: []string{"a/#"}}, func(devices.Message) {})
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), secretPW, bad)
	}
}
