package valkey_test

import (
	"testing"
	"time"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/state"
)

// BenchmarkValkeyPublish measures a publication on a local redis-server:
// the append script's round trip, and the time from Publish to the
// subscriber's Deliver on another client.
func BenchmarkValkeyPublish(b *testing.B) {
	p := bridgetest.StartRedis(b)
	ctx := storeTestCtx(b)
	data, r := readingData(b, "bench-device", 1)
	ch := mustChannel(b, "devices")

	b.Run("append", func(b *testing.B) {
		n := newFoNode(b, storeTestClient(b, p.Addr), "")
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := n.f.Publish(ctx, "t", ch, data, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deliver", func(b *testing.B) {
		pub := newFoNode(b, storeTestClient(b, p.Addr), "")
		sub := newFoNode(b, storeTestClient(b, p.Addr), "")
		notify := make(chan *state.Publication, 1)
		sub.rec.notify = notify
		if err := sub.f.Subscribe(ctx, "t2", ch.Name); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pub.f.Publish(ctx, "t2", ch, data, r); err != nil {
				b.Fatal(err)
			}
			select {
			case <-notify:
			case <-time.After(5 * time.Second):
				b.Fatal("not delivered")
			}
		}
	})
	b.Run("append parallel", func(b *testing.B) {
		n := newFoNode(b, storeTestClient(b, p.Addr), "")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := n.f.Publish(ctx, "t3", ch, data, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
