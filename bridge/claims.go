package bridge

import (
	"context"
	"slices"
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
	key   string
	idx   int
	m     devices.Message
	owner string // the node that claimed it
	due   time.Time
	// freeSince is when the claim was first found gone without a done
	// mark (zero: not yet).
	freeSince time.Time
}

// claimWatch keeps the copies of messages other nodes claimed and, once
// their owner's lease has run out, asks whether they were done; a message
// whose owner died is claimed and processed here.
type claimWatch struct {
	mu    sync.Mutex
	items []watchedClaim // in due order: every item gets the same lease
}

func (w *claimWatch) add(it watchedClaim) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.items) >= maxWatched {
		w.items = w.items[1:]
	}
	it.due = time.Now().Add(claimLease)
	w.items = append(w.items, it)
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
			states, err := b.bp.claims.Recheck(rctx, keys)
			var alive map[string]bool
			if err == nil {
				alive, err = b.liveNodes(rctx, states)
			}
			cancel()
			if err != nil {
				b.metrics.BackplaneErrors.WithLabelValues("claim_recheck").Inc()
				// Look again next time; Valkey may be back.
				for _, it := range items {
					b.watch.add(it)
				}
				break
			}
			for i, st := range states {
				it := items[i]
				switch st {
				case cluster.ClaimBusy:
					b.watch.add(it)
				case cluster.ClaimFree:
					b.freeClaim(ctx, it, alive, time.Now())
				}
				// Done: the owner processed it.
			}
		}
	}
}

// freeClaim decides about a message whose claim is gone without a done
// mark. Either its owner died (its lease ran out): take it over; or the
// backplane lost the key (a restarted Valkey) while the owner lives and
// has processed it: drop it. The node registry tells them apart, but only
// once it can be trusted: a dead node stays listed for up to two
// heartbeats, and a restarted Valkey lists no node until each heartbeats
// again. So a message is taken over only when it has been free for two
// heartbeats, its owner is not listed and this node is; and dropped once
// its owner has been listed for long after it became free.
func (b *Bridge) freeClaim(ctx context.Context, it watchedClaim, alive map[string]bool, now time.Time) {
	hb := b.cfg.Cluster.Heartbeat
	if it.freeSince.IsZero() {
		it.freeSince = now
		b.watch.add(it)
		return
	}
	free := now.Sub(it.freeSince)
	switch {
	case alive[it.owner] && free > 6*hb:
		return // a live owner processed it; the backplane lost the mark
	case !alive[it.owner] && alive[b.cfg.Node] && free >= 2*hb:
		b.takeOver(ctx, it)
	default:
		b.watch.add(it)
	}
}

// liveNodes returns the live nodes when some claim is free, else nil.
func (b *Bridge) liveNodes(ctx context.Context, states []cluster.ClaimState) (map[string]bool, error) {
	if !slices.Contains(states, cluster.ClaimFree) {
		return nil, nil
	}
	nodes, err := b.bp.nodes.List(ctx)
	if err != nil {
		return nil, err
	}
	alive := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		alive[n.Node] = true
	}
	return alive, nil
}

// takeOver claims and processes a message whose owner died before it was
// done; another watcher may get there first.
func (b *Bridge) takeOver(ctx context.Context, it watchedClaim) {
	_, mine, err := b.bp.claims.Claim(ctx, it.key, b.cfg.Node, claimLease)
	if err != nil || !mine {
		return
	}
	src := &b.sources[it.idx]
	b.metrics.IngestTakenOver.WithLabelValues(src.handler.Family(), src.tenant).Inc()
	b.log.Info("processing a message whose claiming node died before it was done", "topic", it.m.Topic, "owner", it.owner)
	b.process(b.pipeCtx, it.idx, src, it.m)
	b.claimDone(b.pipeCtx, it.key)
}

// claimDone marks a processed message done for the lock window.
func (b *Bridge) claimDone(ctx context.Context, key string) {
	_ = b.retry(ctx, "claim_done", func(ctx context.Context) error {
		return b.bp.claims.Done(ctx, key, b.cfg.Cluster.IngestLockWindow)
	})
}
