package dedup

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOnlyFlaggedRedeliveriesAreSuppressed(t *testing.T) {
	w := New(10*time.Second, 100)
	now := time.Unix(1000, 0)
	p := []byte(`{"temperature":21}`)
	require.False(t, w.Duplicate("a/b", p, false, now))
	require.False(t, w.Duplicate("a/b", p, false, now), "a repeated value without DUP is data")
	require.True(t, w.Duplicate("a/b", p, true, now), "a DUP redelivery of a message taken is dropped")
	require.False(t, w.Duplicate("a/c", p, true, now), "another topic is another message")
	require.False(t, w.Duplicate("x/y", []byte("1"), true, now), "a DUP whose original was lost is kept")
	require.False(t, w.Duplicate("a/b", p, true, now.Add(time.Minute)), "outside the window")
}

func TestWindowIsBounded(t *testing.T) {
	w := New(time.Hour, 10)
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		w.Seen(w.Key(fmt.Sprint(i), nil), now)
	}
	require.LessOrEqual(t, len(w.seen), 10)
	require.Len(t, w.ring, 10)
	require.True(t, w.Seen(w.Key("999", nil), now), "recent keys are remembered")
	require.False(t, w.Seen(w.Key("0", nil), now), "the oldest were forgotten")
}

func BenchmarkDuplicate(b *testing.B) {
	w := New(10*time.Second, 100000)
	p := []byte(`{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120}`)
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		w.Duplicate(fmt.Sprintf("zigbee2mqtt/dev-%d", i%1000), p, i%2 == 0, now)
	}
}
