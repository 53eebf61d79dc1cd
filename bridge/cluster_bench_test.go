package bridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/embedded"
)

// BenchmarkClusterDelivery is BenchmarkDelivery on three nodes sharing a
// redis-server (Valkey's protocol) and one MQTT broker, with the
// subscribers spread evenly over the nodes and the messages ingested by
// node A: every publication crosses Valkey (append script + sharded
// pub/sub) before any node delivers it. The single-node run beside it is
// the same harness on the memory backplane. It also reports the Valkey
// commands per device message and per publication, counted by the server
// (INFO commandstats).
func BenchmarkClusterDelivery(b *testing.B) {
	for _, mode := range []string{"single", "cluster3"} {
		for _, n := range []int{99, 999} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, n), func(b *testing.B) {
				raiseFileLimit(b, 2*n+256)
				var nodes []*bridgetest.Bridge
				var redis *bridgetest.Process
				if mode == "single" {
					nodes = []*bridgetest.Bridge{bridgetest.Start(b)}
				} else {
					redis = bridgetest.StartRedis(b)
					nodes = startClusterNodes(b, redis.Addr, 3)
				}
				var clients []*benchClient
				for _, nd := range nodes {
					clients = append(clients, dialMany(b, nd.WSURL, nd.Token(b, "bench", bridge.DefaultTenant), n/len(nodes), true)...)
				}
				var next uint64
				for _, c := range clients {
					next = max(next, c.subscribedAt+1)
				}
				for _, window := range []int{1, 64} {
					b.Run("window="+strconv.Itoa(window), func(b *testing.B) {
						var before map[string]int64
						if redis != nil {
							before = commandStats(b, redis.Addr)
						}
						runDelivery(b, nodes[0], clients, &next, window)
						if redis != nil {
							after := commandStats(b, redis.Addr)
							var total int64
							for cmd, calls := range after {
								if cmd == "info" || cmd == "ping" || cmd == "usec" {
									continue
								}
								total += calls - before[cmd]
							}
							// A message publishes to devices and device:<id>.
							b.ReportMetric(float64(total)/float64(b.N), "valkey-cmds/msg")
							b.ReportMetric(float64(after["evalsha"]-before["evalsha"])/float64(b.N), "evalsha/msg")
							b.ReportMetric(float64(after["set"]-before["set"])/float64(b.N), "set/msg")
							b.ReportMetric(float64(after["usec"]-before["usec"])/float64(b.N), "valkey-µs/msg")
							if testing.Verbose() {
								for cmd, calls := range after {
									if d := calls - before[cmd]; d > 0 {
										b.Logf("%s: %.2f per message", cmd, float64(d)/float64(b.N))
									}
								}
							}
						}
					})
				}
			})
		}
	}
}

// startClusterNodes starts an embedded mochi broker as the shared MQTT
// broker and n bridge nodes on the Valkey at addr.
func startClusterNodes(tb testing.TB, addr string, n int) []*bridgetest.Bridge {
	tb.Helper()
	broker, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- broker.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	var nodes []*bridgetest.Bridge
	for i := 0; i < n; i++ {
		nodes = append(nodes, bridgetest.Start(tb, func(c *bridge.Config) {
			c.Node = "bench-" + strconv.Itoa(i)
			c.MQTT.URL = broker.URL()
			c.Cluster.Backplane = bridge.BackplaneValkey
			c.Cluster.Valkey.Addrs = []string{addr}
		}))
	}
	return nodes
}

// commandStats returns calls per command from INFO commandstats.
func commandStats(tb testing.TB, addr string) map[string]int64 {
	tb.Helper()
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "info", "commandstats").Output()
	require.NoError(tb, err)
	stats := map[string]int64{}
	for _, line := range strings.Split(string(out), "\n") {
		// cmdstat_evalsha:calls=12,usec=...
		name, rest, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "cmdstat_")), ":calls=")
		if !ok {
			continue
		}
		calls, rest, _ := strings.Cut(rest, ",")
		v, err := strconv.ParseInt(calls, 10, 64)
		if err == nil {
			stats[name] = v
		}
		// usec=…: server time in the command; EVALSHA's includes the
		// commands its script runs, so count top-level commands only.
		if us, ok := strings.CutPrefix(rest, "usec="); ok && (name == "evalsha" || name == "set" || name == "evalsha_ro") {
			us, _, _ = strings.Cut(us, ",")
			if n, err := strconv.ParseInt(us, 10, 64); err == nil {
				stats["usec"] += n
			}
		}
	}
	return stats
}
