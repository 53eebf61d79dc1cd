package simulator

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/embedded"
	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/families"
)

const (
	waitFor = 20 * time.Second
	pollInt = 20 * time.Millisecond
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker runs an embedded broker on a free port until the test ends.
func startBroker(t *testing.T) *embedded.Broker {
	t.Helper()
	b, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: quietLogger()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return b
}

func registry(t *testing.T) *devices.Registry {
	t.Helper()
	reg, err := devices.NewRegistry(families.All()...)
	require.NoError(t, err)
	return reg
}

// recorder subscribes to the registry's filters and keeps every message in
// arrival order.
type recorder struct {
	mu   sync.Mutex
	msgs []devices.Message
}

func record(t *testing.T, url string, reg *devices.Registry) *recorder {
	t.Helper()
	r := &recorder{}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("recorder").
		SetAutoReconnect(false).SetOrderMatters(true))
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	filters := map[string]byte{}
	for _, f := range reg.Filters() {
		filters[f] = 1
	}
	tok = c.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.msgs = append(r.msgs, devices.Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...),
			Retained: m.Retained(), ReceivedAt: time.Now()})
	})
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, tok.Error())
	return r
}

func (r *recorder) all() []devices.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]devices.Message(nil), r.msgs...)
}

// event is one decoded message of one device.
type event struct {
	topic   string
	payload string
	online  *bool
	verdict string
	metrics map[string]any
}

// decode runs every recorded message through the registry and groups the
// results by family and device, in arrival order.
func decode(t *testing.T, reg *devices.Registry, msgs []devices.Message) map[Device][]event {
	t.Helper()
	out := map[Device][]event{}
	for _, m := range msgs {
		h, ok := reg.Lookup(m.Topic)
		require.True(t, ok, "no family for %q", m.Topic)
		rs, err := h.Decode(h.DefaultBase(), m)
		verdict, _ := devices.Verdict(err)
		if verdict != "decoded" {
			dev := Device{Family: h.Family(), Name: "?" + m.Topic, Base: h.DefaultBase()}
			out[dev] = append(out[dev], event{topic: m.Topic, payload: string(m.Payload), verdict: verdict})
			continue
		}
		for _, r := range rs {
			dev := Device{Family: r.Family, Name: r.Device, Base: h.DefaultBase()}
			out[dev] = append(out[dev], event{topic: m.Topic, payload: string(m.Payload), online: r.Online, verdict: verdict, metrics: r.Metrics})
		}
	}
	return out
}

func runSim(t *testing.T, s *Simulator, ctx context.Context) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * waitFor):
		t.Fatal("simulator Run did not return")
	}
}

// samplers lists the families of reg that the simulator can run.
func samplers(reg *devices.Registry) []string {
	var out []string
	for _, f := range reg.Families() {
		h, _ := reg.Handler(f)
		if _, ok := h.(devices.Sampler); ok {
			out = append(out, f)
		}
	}
	return out
}
