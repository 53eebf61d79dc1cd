package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueueKeepsOrderAndNeverBlocks(t *testing.T) {
	q := newQueue()
	var got []int
	for i := 0; i < 1000; i++ { // far past any channel buffer
		require.True(t, q.push(func() { got = append(got, i) }))
	}
	<-q.sig
	for _, f := range q.take() {
		f()
	}
	require.Len(t, got, 1000)
	for i, v := range got {
		require.Equal(t, i, v)
	}
	require.True(t, q.push(func() {}))
	require.Len(t, q.close(), 1, "close hands back what was still queued")
	require.False(t, q.push(func() {}))
}
