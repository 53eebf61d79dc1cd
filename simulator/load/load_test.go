package load

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
)

// TestSmoke runs the whole harness against a bridge it starts itself, and
// then against the reference server (this test binary, see TestMain): 50
// sockets over 2 channels, two short steps. Every publication must be
// counted exactly once per subscriber of its channel, and each server's
// figures must come from its /proc entries. It checks what was counted,
// not how fast.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the bridge")
	}
	bin := bridgetest.BuildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := Workload{Subscribers: 50, Channels: 2, Rates: []float64{10, 20}, Step: 2 * time.Second, P99Limit: 5 * time.Second, Idle: 200 * time.Millisecond}
	res, err := Run(ctx, Config{BridgeBin: bin, Reference: true, Workloads: []Workload{w}, SourceIPs: 2, Concurrency: 8})
	require.NoError(t, err)
	require.Len(t, res, 2)
	for k, server := range []string{"mqlive", "reference"} {
		r := res[k]
		require.Equal(t, server, r.Server)
		require.Equal(t, 50, r.Connect.Sockets, server)
		require.Positive(t, r.Connect.Duration, server)
		require.Positive(t, r.Connect.RSSBefore, server)
		require.Positive(t, r.Connect.RSSAfter, server)
		require.Empty(t, r.Stopped, server)
		require.Equal(t, 1, r.Passed, server)
		require.Len(t, r.Steps, 2, server)
		for i, s := range r.Steps {
			sent := int64(w.Rates[i] * w.Step.Seconds())
			require.Equal(t, sent, s.Sent, "%s step %d", server, i)
			require.Equal(t, sent*25, s.Expected, "%s step %d: 25 subscribers per channel", server, i)
			require.Equal(t, s.Expected, s.Received, "%s step %d", server, i)
			require.Zero(t, s.Dups+s.Lagged+s.Dropped, "%s step %d", server, i)
			require.Positive(t, s.P50, "%s step %d", server, i)
			require.LessOrEqual(t, s.P50, s.P99, "%s step %d", server, i)
			require.LessOrEqual(t, s.P99, s.Max, "%s step %d", server, i)
			require.GreaterOrEqual(t, s.Window, w.Step, "%s step %d", server, i)
			require.GreaterOrEqual(t, s.ServerCPU, 0.0, "%s step %d", server, i)
			require.GreaterOrEqual(t, s.GenCPU, 0.0, "%s step %d", server, i)
		}
	}

	var out bytes.Buffer
	require.NoError(t, WriteMarkdown(&out, res))
	require.Contains(t, out.String(), "| 50 sockets over 2 channels, rate stepped 10→20 msg/s: highest rate with no loss and p99 ≤ 5 s | ")
	require.Contains(t, out.String(), " (20 msg/s, p99 ")
	require.Contains(t, out.String(), " — reference: every step passed")
}

// The reference server refuses what it is not: anything but loopback.
func TestReferenceLoopbackOnly(t *testing.T) {
	err := ServeReference(context.Background(), ReferenceConfig{HTTPAddr: "0.0.0.0:0", MQTTAddr: "127.0.0.1:0"})
	require.ErrorContains(t, err, "not a loopback address")
	err = ServeReference(context.Background(), ReferenceConfig{HTTPAddr: "127.0.0.1:0"})
	require.ErrorContains(t, err, "an HTTP and an MQTT address are required")
}

// TestTargetRunning measures a bridge someone else started, given by its
// URLs, secret and pid, and leaves it running.
func TestTargetRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the bridge")
	}
	bin := bridgetest.BuildBinary(t)
	mqtt := fmt.Sprintf("127.0.0.1:%d", bridgetest.FreePort(t))
	node := bridgetest.StartNode(t, bin, "load-target", map[string]string{"MQLIVE_MQTT_LISTEN": mqtt})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := Workload{Subscribers: 20, Channels: 1, Rates: []float64{10}, Step: time.Second, Idle: 100 * time.Millisecond}
	res, err := Run(ctx, Config{WSURL: node.WSURL, MQTTURL: "tcp://" + mqtt, TokenSecret: bridgetest.Secret,
		ServerPID: node.PID(), Workloads: []Workload{w}, SourceIPs: 1})
	require.NoError(t, err)
	require.Len(t, res, 1)
	s := res[0].Steps[0]
	require.Equal(t, int64(10), s.Sent)
	require.Equal(t, int64(200), s.Expected)
	require.Equal(t, s.Expected, s.Received)
	require.Positive(t, res[0].Connect.RSSAfter)
	require.GreaterOrEqual(t, s.ServerCPU, 0.0)
	code, _, err := node.Readyz()
	require.NoError(t, err)
	require.Equal(t, 200, code, "the load generator leaves a bridge it did not start running")
}
