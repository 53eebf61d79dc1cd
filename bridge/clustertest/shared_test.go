package clustertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
)

// TestIngestModesUnderKill measures what a kill -9 of one node costs each
// cluster ingest mode, with Mosquitto as the broker: 400 QoS 1 messages at
// 100/s, one of three nodes killed a third of the way and never restarted.
// "lock" (the default) must lose nothing. "shared" is measured, not
// asserted, because what a broker does with a dead shared-subscription
// member's messages is the broker's choice (mosquitto#2662, emqx#12257):
// run with MQLIVE_MEASURE_SHARED=1 and -v to see it.
func TestIngestModesUnderKill(t *testing.T) {
	modes := []string{"lock"}
	if os.Getenv("MQLIVE_MEASURE_SHARED") != "" {
		modes = append(modes, "shared")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			needTools(t, false)
			c := &cluster{t: t, bin: bridgetest.BuildBinary(t), valkey: []string{bridgetest.StartRedis(t).Addr}}
			c.broker = bridgetest.StartMosquitto(t)
			c.conf = filepath.Join(t.TempDir(), "mqlive.yaml")
			// The default heartbeat (4 s): a dead node stays listed as live
			// for two of them, far longer than a claim's 2 s lease, which is
			// the case the takeover must get right.
			require.NoError(t, os.WriteFile(c.conf, []byte(fmt.Sprintf("cluster:\n  ingest: %s\n", mode)), 0o600))
			for i := 0; i < 3; i++ {
				c.addNode(t, c.broker)
			}
			victim := c.nodes[2]
			watcher := newStream(t, "watcher", c.nodes[0].WSURL, "devices")

			pub := newPublisher(t, c.broker, "pub-"+mode)
			const rate, total = 100, 400
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			for i := 0; i < total; i++ {
				<-tick.C
				if i == total/3 {
					victim.Kill()
				}
				_, err := pub.publish()
				require.NoError(t, err)
			}
			acked := pub.ackedSeqs()
			require.Len(t, acked, total)
			// Wait for what will arrive: everything, or until nothing more
			// has come for a few seconds.
			// A message the dead node had claimed is taken over after its
			// lease and two heartbeats (about 10 s here).
			deadline := time.Now().Add(40 * time.Second)
			lastN, lastChange := -1, time.Now()
			for time.Now().Before(deadline) {
				watcher.drain()
				if n := len(watcher.seqs); n != lastN {
					lastN, lastChange = n, time.Now()
				}
				if lastN == total || (mode == "shared" && time.Since(lastChange) > 3*claimWait) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			lost := 0
			for seq := range acked {
				if watcher.seqs[seq] == 0 {
					lost++
				}
			}
			dups := 0
			for _, n := range watcher.seqs {
				if n > 1 {
					dups++
				}
			}
			t.Logf("ingest %s: kill -9 of 1 of 3 nodes during %d acknowledged QoS 1 messages: %d lost, %d duplicated", mode, total, lost, dups)
			if mode == "lock" {
				watcher.requireOnce(acked)
			}
		})
	}
}

// claimWait is how long a message claimed by a dead node waits before
// another node takes it over (bridge.claimLease), plus a recheck period.
const claimWait = 2500 * time.Millisecond
