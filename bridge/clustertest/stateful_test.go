package clustertest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/devices/sparkplug"
)

// TestStatefulDecodersAcrossNodes: in ingest mode lock each message is
// claimed by whichever node is first, so a Sparkplug birth (which names the
// metric aliases) may be processed by one node and the data that uses the
// aliases by another. Every node must still decode every data message:
// none may be rejected, and every one becomes a Reading.
func TestStatefulDecodersAcrossNodes(t *testing.T) {
	c := startCluster(t, 2)
	s := newStream(t, "watcher", c.nodes[0].WSURL, "devices")
	h := sparkplug.New()
	base := h.DefaultBase()
	pub := bridgetest.ConnectMQTT(t, bridgetest.MQTTURL(c.broker), "edge-node", true)
	send := func(topic string, payload []byte) {
		tok := pub.Publish(topic, 1, false, payload)
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error())
	}
	for _, id := range []string{"plant/edge1", "plant/edge1/pump"} {
		m, ok := h.Availability(base, id, true)
		require.True(t, ok)
		send(m.Topic, m.Payload)
	}
	const n = 60
	start := time.Now().Add(time.Second)
	for i := 0; i < n; i++ {
		for _, m := range h.Sample(base, "plant/edge1/pump", start.Add(time.Duration(i)*time.Second), rand.New(rand.NewPCG(1, uint64(i)))) {
			send(m.Topic, m.Payload)
		}
	}
	bridgetest.Eventually(t, wait, func() error {
		s.drain()
		if got := s.readingsOf("plant/edge1/pump"); got < n+1 {
			return fmt.Errorf("%d readings of the device, want the birth and %d data messages", got, n)
		}
		return nil
	})
	for _, nd := range c.nodes {
		require.Zero(t, rejected(t, nd.HTTPURL, "sparkplug_b"), "node %s rejected Sparkplug messages", nd.Name)
	}
}

// readingsOf counts the Readings of device the stream received (drain
// first).
func (s *stream) readingsOf(device string) int {
	return s.devices[device]
}

var rejectedLine = regexp.MustCompile(`(?m)^mqlive_ingest_rejected_total\{family="([^"]+)"[^}]*\} (\S+)$`)

// rejected sums mqlive_ingest_rejected_total for family on a node.
func rejected(t *testing.T, httpURL, family string) float64 {
	t.Helper()
	resp, err := http.Get(httpURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	sum := 0.0
	for _, m := range rejectedLine.FindAllStringSubmatch(string(body), -1) {
		if m[1] == family {
			v, _ := strconv.ParseFloat(m[2], 64)
			sum += v
		}
	}
	return sum
}
