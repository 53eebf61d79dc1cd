package fanout_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/fanout"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

type recorder struct {
	mu   sync.Mutex
	got  []uint64
	lost int
}

func (r *recorder) Deliver(_ string, p *state.Publication) {
	r.mu.Lock()
	r.got = append(r.got, p.Offset)
	r.mu.Unlock()
}

func (r *recorder) Lost(string, string) { r.lost++ }

func TestMemoryDeliversOnlySubscribedInOrder(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemory(state.Config{})
	rec := &recorder{}
	f := fanout.NewMemory(store, rec)
	ch := wire.Channel{Name: "app:x", Kind: wire.KindApp, Arg: "x"}

	p, err := f.Publish(ctx, "acme", ch, []byte(`1`), nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), p.Offset)
	require.Empty(t, rec.got, "not subscribed: stored, not delivered")

	require.NoError(t, f.Subscribe(ctx, "acme", "app:x"))
	require.True(t, f.Subscribed("acme", "app:x"))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				_, err := f.Publish(ctx, "acme", ch, []byte(`2`), nil)
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.Len(t, rec.got, 200)
	for i, off := range rec.got {
		require.Equal(t, uint64(i+2), off, "delivery order is offset order with concurrent publishers")
	}
	_, err = f.Publish(ctx, "other", ch, []byte(`3`), nil)
	require.NoError(t, err)
	require.Len(t, rec.got, 200, "another tenant's channel of the same name is not delivered")

	require.NoError(t, f.Unsubscribe(ctx, "acme", "app:x"))
	_, err = f.Publish(ctx, "acme", ch, []byte(`4`), nil)
	require.NoError(t, err)
	require.Len(t, rec.got, 200)
	pos, err := store.Position(ctx, "acme", ch)
	require.NoError(t, err)
	require.Equal(t, uint64(202), pos.Offset)
}
