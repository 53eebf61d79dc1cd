package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/devices"
)

// claimLease is how long the node that claimed a message (ingest mode
// "lock") has to process it before the others take over: far longer than
// processing takes (milliseconds), short enough that a node's death delays
// its in-flight messages by at most this much. A node that outlives its
// lease while Valkey is slow only causes a duplicate publication, never a
// loss.
const claimLease = 2 * time.Second

// maxWatched bounds the messages a node keeps while other nodes process
// them; past it the oldest are forgotten (counted).
const maxWatched = 100000

// watchedClaim is a message another node claimed, kept until it is done.
type watchedClaim struct {
	key string
	idx int
	m   devices.Message
	due time.Time
}

// claimWatch keeps the copies of messages other nodes claimed and, once
// their owner's lease has run out, asks whether they were done; a message
// whose owner died is claimed and processed here.
type claimWatch struct {
	mu    sync.Mutex
	items []watchedClaim // in due order: every item gets the same lease
}

func (w *claimWatch) add(key string, idx int, m devices.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.items) >= maxWatched {
		w.items = w.items[1:]
	}
	w.items = append(w.items, watchedClaim{key: key, idx: idx, m: m, due: time.Now().Add(claimLease)})
}

// due takes up to n items whose lease has run out.
func (w *claimWatch) due(now time.Time, n int) []watchedClaim {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := 0
	for k < len(w.items) && k < n && !w.items[k].due.After(now) {
		k++
	}
	out := append([]watchedClaim(nil), w.items[:k]...)
	w.items = w.items[k:]
	if len(w.items) == 0 {
		w.items = nil // let the backing array go
	}
	return out
}

// Len is the number of messages watched.
func (w *claimWatch) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.items)
}

// watchClaims rechecks due messages until ctx ends.
func (b *Bridge) watchClaims(ctx context.Context) {
	t := time.NewTicker(claimLease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			items := b.watch.due(time.Now(), 512)
			if len(items) == 0 {
				break
			}
			keys := make([]string, len(items))
			for i := range items {
				keys[i] = items[i].key
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			states, err := b.bp.claims.Recheck(rctx, keys, b.cfg.Node, claimLease)
			cancel()
			if err != nil {
				b.metrics.BackplaneErrors.WithLabelValues("claim_recheck").Inc()
				// Look again next time; Valkey may be back.
				for _, it := range items {
					b.watch.add(it.key, it.idx, it.m)
				}
				break
			}
			for i, st := range states {
				it := items[i]
				switch st {
				case cluster.ClaimTaken:
					src := &b.sources[it.idx]
					b.metrics.IngestTakenOver.WithLabelValues(src.handler.Family(), src.tenant).Inc()
					b.log.Info("processing a message whose claiming node did not finish it", "topic", it.m.Topic)
					b.process(b.pipeCtx, it.idx, src, it.m)
					b.claimDone(b.pipeCtx, it.key)
				case cluster.ClaimBusy:
					b.watch.add(it.key, it.idx, it.m)
				}
			}
		}
	}
}

// claimDone marks a processed message done for the lock window.
func (b *Bridge) claimDone(ctx context.Context, key string) {
	_ = b.retry(ctx, "claim_done", func(ctx context.Context) error {
		return b.bp.claims.Done(ctx, key, b.cfg.Cluster.IngestLockWindow)
	})
}
