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
	v, err := auth.NewHMAC([]byte(secret))
	require.NoError(t, err)
	id, err := v.Verify(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Equal(t, "ops", id.User)
	require.Equal(t, "acme", id.Tenant)
	require.True(t, id.Admin)

	require.Equal(t, 2, run(nil, "short", &out, &errs), "a short secret is refused")
}
