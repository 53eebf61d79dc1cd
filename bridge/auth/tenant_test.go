package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidTenant(t *testing.T) {
	for _, s := range []string{"default", "acme", "a", "a_b-c9", strings.Repeat("x", 64)} {
		require.True(t, ValidTenant(s), s)
	}
	for _, s := range []string{"", "Acme", "a b", "a/b", "a.b", "ä", strings.Repeat("x", 65), "a*", "a\x00"} {
		require.False(t, ValidTenant(s), s)
	}
}
