package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
)

func TestTokenVerifies(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	var out, errs bytes.Buffer
	require.Equal(t, 0, run([]string{"--user", "ops", "--tenant", "acme"}, secret, &out, &errs), errs.String())
	v, err := auth.NewHMAC([]byte(secret), auth.WithMaxLifetime(auth.DefaultMaxLifetime))
	require.NoError(t, err)
	id, err := v.Verify(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, "ops", id.User)
	require.Equal(t, "acme", id.Tenant)
	require.True(t, id.Admin)
	require.True(t, id.CanAPI(auth.APISignOut), "the default token calls the admin API")

	out.Reset()
	require.Equal(t, 0, run([]string{"--api", "publish", "--admin=false"}, secret, &out, &errs), errs.String())
	id, err = v.Verify(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.False(t, id.Admin)
	require.True(t, id.CanAPI(auth.APIPublish))
	require.False(t, id.CanAPI(auth.APISignOut))

	require.Equal(t, 2, run([]string{"--ttl", "25h"}, secret, &out, &errs), "longer than the bridge's cap")
	require.Equal(t, 2, run([]string{"--api", "everything"}, secret, &out, &errs), "unknown api operation")

	require.Equal(t, 2, run(nil, "short", &out, &errs), "a short secret is refused")
}
