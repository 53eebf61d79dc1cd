package hub

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeliverShardedKeepsOrder: a channel with enough subscribers to be
// delivered on several goroutines still gives every subscriber every
// publication exactly once and in offset order, while writers drain
// concurrently and subscribers leave (swap-remove moves others within the
// list between deliveries).
func TestDeliverShardedKeepsOrder(t *testing.T) {
	const n, pubs = 3*shardMin + 17, 40 // two shards before and after the leaving
	h, _ := newHub(Config{QueueSize: pubs + 1})
	sessions := make([]*Session, n)
	for i := range sessions {
		sessions[i] = session(t, h, "s"+itoa(i), "acme")
		subscribe(t, h, sessions[i], "devices", SubOptions{})
	}
	leaves := func(i int) bool { return i%7 == 0 }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Sessions that leave get what was taken before the unsubscribe (it
	// drops what still waits), so their writers run until told to stop.
	leftCtx, stopLeft := context.WithCancel(ctx)
	got := make([][]uint64, n)
	var stay, left sync.WaitGroup
	for i, s := range sessions {
		wg, wctx := &stay, ctx
		if leaves(i) {
			wg, wctx = &left, leftCtx
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []Frame
			for len(got[i]) < pubs {
				var err error
				buf, err = s.Next(wctx, buf[:0])
				if err != nil {
					return
				}
				for _, f := range buf {
					got[i] = append(got[i], frameOffset(f.Data))
				}
			}
		}()
	}
	// Every 7th session leaves halfway; the others must not notice.
	for off := uint64(1); off <= pubs; off++ {
		if off == pubs/2 {
			for i := 0; i < n; i += 7 {
				require.True(t, h.Unsubscribe(sessions[i], "devices"))
			}
		}
		h.Deliver("acme", pub("devices", off, `{"v":1}`))
	}
	stay.Wait()
	stopLeft()
	left.Wait()
	for i, s := range sessions {
		if leaves(i) {
			require.LessOrEqual(t, len(got[i]), pubs/2-1, "session %d got publications after it left", i)
		} else {
			require.Len(t, got[i], pubs, "session %d", i)
		}
		require.Empty(t, ready(t, s), "session %d: more than it should have", i)
		for j, off := range got[i] {
			require.Equal(t, uint64(j+1), off, "session %d: out of order", i)
		}
	}
	require.Len(t, h.Presence("acme", "devices"), n-(n+6)/7)
}

// frameOffset reads the offset of a message frame, or 0 for anything else
// (which the order check then reports). Not message(): require must not
// run off the test's goroutine, and 20,000 JSON decodes under the race
// detector on a busy machine took most of the test's time.
func frameOffset(frame []byte) uint64 {
	_, rest, ok := bytes.Cut(frame, []byte(`"offset":`))
	if !ok {
		return 0
	}
	var off uint64
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		off = off*10 + uint64(c-'0')
	}
	return off
}

// TestForShardsCoversEachOnce: the parts are disjoint and cover the list.
func TestForShardsCoversEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, shardMin, 2*shardMin - 1, 2 * shardMin, 5000} {
		list := make([]subEntry, n)
		for i := range list {
			list[i].sub = &Sub{channel: itoa(i)}
		}
		var mu sync.Mutex
		seen := make(map[*Sub]int)
		forShards(list, func(part []subEntry) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range part {
				seen[e.sub]++
			}
		})
		require.Len(t, seen, n)
		for _, c := range seen {
			require.Equal(t, 1, c)
		}
	}
}
