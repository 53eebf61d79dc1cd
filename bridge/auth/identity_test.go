package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"devices", "devices", true},
		{"devices", "devices2", false},
		{"devices", "device", false},
		{"device:*", "device:a/b c", true},
		{"device:*", "device:", false},
		{"device:*", "devices", false},
		{"device:kitchen-*", "device:kitchen-th", true},
		{"device:kitchen-*", "device:hall", false},
		{"*", "", false},
		{"*", "anything:at/all", true},
		{"user:alice", "user:alice2", false},
	} {
		require.Equal(t, tc.want, Match(tc.pattern, tc.name), "%q ~ %q", tc.pattern, tc.name)
	}
}

func TestDefaultPermissions(t *testing.T) {
	id := &Identity{User: "alice", Tenant: "acme", Chan: DefaultChan("alice")}
	for _, ch := range []string{"devices", "device:kitchen-th", "device:a/b%20c", "tag:site=hq", "user:alice"} {
		require.True(t, id.CanSubscribe(ch), ch)
	}
	for _, ch := range []string{"user:bob", "user:alice2", "app:chat", "monitor", "devicesx"} {
		require.False(t, id.CanSubscribe(ch), ch)
	}
	require.False(t, id.CanPublish("app:chat"))
	require.False(t, id.CanCommand("lamp"))
}

func TestMonitorOnlyForAdmin(t *testing.T) {
	star := &Identity{User: "bob", Chan: []string{"*"}, Pub: []string{"*"}}
	require.True(t, star.CanSubscribe("app:x"))
	require.False(t, star.CanSubscribe("monitor"), "chan * must not open monitor")
	require.False(t, star.CanPublish("monitor"))

	admin := &Identity{User: "root", Admin: true, Chan: []string{}}
	require.True(t, admin.CanSubscribe("monitor"))
	require.False(t, admin.CanSubscribe("devices"), "admin only widens monitor")
}

func TestPublishAndCommandPatterns(t *testing.T) {
	id := &Identity{Pub: []string{"app:chat", "app:room-*"}, Cmd: []string{"lamp-*", "heater"}}
	require.True(t, id.CanPublish("app:chat"))
	require.True(t, id.CanPublish("app:room-1"))
	require.False(t, id.CanPublish("app:chatx"))
	require.False(t, id.CanPublish("devices"))
	require.True(t, id.CanCommand("lamp-kitchen"))
	require.True(t, id.CanCommand("heater"))
	require.False(t, id.CanCommand("heater2"))

	all := &Identity{Pub: []string{"*"}, Cmd: []string{"*"}}
	require.True(t, all.CanPublish("app:x"))
	require.True(t, all.CanCommand("any device/with spaces"))
}

func TestDevClaimsRoundTrip(t *testing.T) {
	c := DevClaims("dev", "default", time.Hour)
	tok, err := NewHMACSigner(testSecret).Sign(c)
	require.NoError(t, err)
	v, err := NewHMAC(testSecret)
	require.NoError(t, err)
	id, err := v.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "dev", id.User)
	require.Equal(t, "default", id.Tenant)
	require.True(t, id.Admin)
	require.True(t, id.CanSubscribe("monitor"))
	require.True(t, id.CanSubscribe("user:dev"))
	require.True(t, id.CanPublish("app:anything"))
	require.False(t, id.CanPublish("devices"))
	require.True(t, id.CanCommand("lamp"))
	require.WithinDuration(t, time.Now().Add(time.Hour), id.Expires, 5*time.Second)
}
