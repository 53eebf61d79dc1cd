//go:build !js

package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSystemClock(t *testing.T) {
	c := SystemClock{}
	require.InDelta(t, time.Now().UnixMilli(), c.Now(), 1000)
	fired := make(chan struct{})
	c.AfterFunc(1, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(waitFor):
		t.Fatal("timer did not fire")
	}
	stopped := make(chan struct{}, 1)
	stop := c.AfterFunc(50, func() { stopped <- struct{}{} })
	stop()
	stop() // twice is allowed
	select {
	case <-stopped:
		t.Fatal("a stopped timer fired")
	case <-time.After(150 * time.Millisecond):
	}
}
