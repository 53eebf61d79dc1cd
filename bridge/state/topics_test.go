package state

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeviceRemembersRecentTopicsNewestFirst(t *testing.T) {
	d := &Device{}
	d.heardOn("a")
	d.heardOn("b")
	d.heardOn("a")
	d.heardOn("")
	require.Equal(t, []string{"a", "b"}, d.Topics())
	for i := 0; i < 20; i++ {
		d.heardOn(fmt.Sprint(i))
	}
	require.Len(t, d.Topics(), maxTopics)
	require.Equal(t, "19", d.Topics()[0])
	require.Equal(t, "12", d.Topics()[maxTopics-1])
	d.heardOn("15")
	require.Equal(t, []string{"15", "19", "18", "17", "16", "14", "13", "12"}, d.Topics())
}
